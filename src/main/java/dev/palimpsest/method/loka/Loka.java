package dev.palimpsest.method.loka;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.Tensor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import me.tongfei.progressbar.ProgressBar;

import dev.palimpsest.UserError;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.io.Progress;
import dev.palimpsest.method.ContextPrefixes;
import dev.palimpsest.request.KnowledgeRequest;
import dev.palimpsest.request.PromptVariants;
import dev.palimpsest.method.Setting;
import dev.palimpsest.method.LossTerms;
import dev.palimpsest.method.RetainDistributions;
import dev.palimpsest.method.Settings;
import dev.palimpsest.method.Undo;
import dev.palimpsest.method.UpdateRun;
import dev.palimpsest.method.UpdateMethod;
import dev.palimpsest.method.memory.MemoryChange;
import dev.palimpsest.model.CausalLM;
import dev.palimpsest.method.loka.LokaCodebook;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.model.Tokenizer;
import dev.palimpsest.tensor.Tensors;
import dev.palimpsest.train.Optimizers;

/**
 * LOKA (Zhang et al., "Resolving Editing-Unlearning Conflicts: A Knowledge GraceCodebook Framework for LLM Updating"):
 * edits and forgets in one update, stored in a {@link LokaCodebook} of low-rank memories beside the unchanged
 * base model. The official code is not available; where the paper is silent the choices below are ours, and each
 * is a setting.
 * <ol>
 * <li><b>Knowledge mapping.</b> Each request is embedded as the base model's mean residual state after the last
 * router layer over its prompt; balanced k-means ({@code memories} clusters, default ⌈n / capacity⌉, at most
 * {@code capacity} = 10 requests each) groups related requests into one memory.</li>
 * <li><b>Conflict score.</b> In a cluster with both edits and forgets, the cosine between the editing gradient and
 * the unlearning gradient with respect to a fresh memory's parameters, averaged over {@code probes} = 3 probe
 * batches, without updating. Below τ ({@code tau} = 0: the two pull apart) the cluster gets two task-specific
 * memories; otherwise one multi-task memory trained with the two-task minimum-norm (MGDA) combination of the two
 * gradients.</li>
 * <li><b>Training.</b> Each memory only on its own requests: editing = NLL of the new target; unlearning = NPO
 * (β 0.1) against the base model, or with {@code forget_loss=refusal} the NLL of the request's refusal (editing as
 * unlearning); retention = KL from the base model on the retain set's answers (weight {@code retain_weight} = 1).
 * AdamW lr 5e-3, {@code epochs} = 50 passes over the memory's requests in batches of 4; LoRA rank 8, alpha 16 on
 * the down-projections of {@code memory_layers} (default the upper half of the layers).</li>
 * <li><b>Router.</b> See {@link RouterTraining}: on the states after {@code router_layers} (default the lower half),
 * positives the requests' prompts and their {@link PromptVariants}, negatives the retain set's questions, their paraphrases and variants and the
 * model's context prefixes; fires above logit {@code router_threshold} = 0.5 (chosen on the micro world: at 0, 12.5 % of
 * questions about entities the model never met were routed; at 1, 87 % of held-out paraphrases); the memory with the nearest centroid
 * (its requests' mean embedding) is plugged in.</li>
 * <li><b>Sequential updates.</b> On a model that already has a codebook, each new batch (in chunks of at most
 * {@code capacity}) is placed by random-hyperplane LSH ({@code lsh_bits} = 4, centred on the negatives' mean
 * embedding) into its bucket's memory, or a new memory when the bucket is empty or full; only the memories that
 * receive requests are trained again (on all their requests, one multi-task memory), and the router is refitted on
 * every request so far.</li>
 * </ol>
 */
public final class Loka implements UpdateMethod {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public String name() {
        return "loka";
    }

    @Override
    public String description() {
        return "knowledge codebook: clustered low-rank memories (task-specific when the edit and forget gradients conflict), "
                + "a learned router, LSH for sequential updates";
    }

    /** How the memories are trained. */
    record Options(int batch, int epochs, double lr, double retainWeight, LossTerms.Forget forget, double beta) {}

    /** At most this many retain questions (a seeded sample) enter the KL retention term. */
    static final int RETAIN_CAP = 64;

    @Override
    public List<Setting> settings() {
        return List.of(
                Setting.text("router_layers").rule("the lower half of the layers (the codebook's on a model that has one)", "layers whose states the router reads"),
                Setting.text("memory_layers").rule("the upper half (the codebook's on a model that has one)", "layers whose MLP down-projections get the memories' LoRA"),
                Setting.atLeast("rank", 1).rule("8 (the codebook's on a model that has one)", "LoRA rank of each memory"),
                Setting.positive("alpha").rule("2 × rank (the codebook's on a model that has one)", "LoRA alpha"),
                Setting.atLeast("capacity", 1).is(10, "requests per memory at most"),
                Setting.atLeast("memories", 1).rule("⌈requests / capacity⌉", "clusters of a fresh codebook"),
                Setting.atLeast("probes", 1).is(3, "probe batches averaged for a cluster's conflict score"),
                Setting.real("tau").is(0.0, "conflict threshold: below it a cluster gets task-specific memories"),
                Setting.oneOf("forget_loss", "npo", "ga", "refusal").is("npo", "the memories' forgetting term"),
                Setting.atLeast("batch", 1).is(4, "requests per step"),
                Setting.atLeast("epochs", 1).is(50, "passes over a memory's requests"),
                Setting.learningRate("lr").is(5e-3, "AdamW rate of the memories"),
                Setting.nonNegative("retain_weight").is(1.0, "weight of the KL retention term"),
                Setting.positive("beta").is(0.1, "NPO's inverse temperature"),
                Setting.atLeast("router_steps", 1).is(300, "router training steps"),
                Setting.learningRate("router_lr").is(0.01, "router AdamW rate"),
                Setting.nonNegative("router_weight_decay").is(0.1, "router weight decay"),
                Setting.real("router_threshold").is(0.5, "the router fires above this logit"),
                Setting.atLeast("lsh_bits", 1).is(4, "random hyperplanes placing sequential updates"));
    }

    @Override
    public Undo update(UpdateRun run) {
        LanguageModel m = run.model();
        QuestionFormat format = run.format();
        List<KnowledgeRequest> requests = run.requests();
        List<QaItem> retain = run.retain();
        long seed = run.seed();
        CausalLM net = m.net();
        Tokenizer tok = m.tokenizer();
        Settings s = run.settings();
        LokaCodebook existing = m.memory(LokaCodebook.class);
        int layers = net.numLayers(), half = Math.max(1, layers / 2);
        if (layers < 2) throw new UserError("loka: needs a model with at least 2 layers (router layers below, memory layers above)");
        int[] routerLayers = ints(s.text("router_layers", existing != null ? join(existing.routerLayers()) : range(0, half)), "router_layers");
        int[] memoryLayers = ints(s.text("memory_layers", existing != null ? join(existing.memoryLayers()) : range(half, layers)), "memory_layers");
        int rank = s.integer("rank", existing != null ? existing.rank() : 8);
        double alpha = s.real("alpha", existing != null ? existing.alpha() : 2.0 * rank);
        int capacity = s.integer("capacity");
        int probes = s.integer("probes");
        double tau = s.real("tau");
        Options o = new Options(s.integer("batch"), s.integer("epochs"), s.real("lr"), s.real("retain_weight"),
                LossTerms.Forget.parse(s.text("forget_loss")), s.real("beta"));
        RouterTraining.Settings rs = new RouterTraining.Settings(s.integer("router_steps"), s.real("router_lr"),
                s.real("router_weight_decay"), s.real("router_threshold"), seed);
        int bits = s.integer("lsh_bits");
        int k = s.integer("memories", (int) Math.ceil(requests.size() / (double) Math.max(1, capacity)));
        if (requests.isEmpty()) throw new UserError("loka: no requests");
        if ((long) k * capacity < requests.size())
            throw new UserError("loka: " + k + " memories of capacity " + capacity + " cannot hold " + requests.size() + " requests");
        if (existing != null && (!Arrays.equals(routerLayers, existing.routerLayers()) || !Arrays.equals(memoryLayers, existing.memoryLayers()) || rank != existing.rank()))
            throw new UserError("loka: the model's codebook has router layers " + join(existing.routerLayers()) + ", memory layers "
                    + join(existing.memoryLayers()) + " and rank " + existing.rank() + "; sequential updates must keep them");

        boolean fresh = existing == null;
        LokaCodebook codebook = fresh ? new LokaCodebook(net, routerLayers, memoryLayers, rank, alpha) : existing;
        // The stored requests of earlier updates, with their memories, and the LSH state.
        List<LossTerms.Example> all = new ArrayList<>();
        List<Integer> memoryOf = new ArrayList<>();
        ObjectNode lsh = null;
        if (!fresh) lsh = restore(readState(codebook.state()), tok, format, all, memoryOf);
        int before = all.size();
        for (KnowledgeRequest r : requests) all.add(LossTerms.example(r, tok, format));

        codebook.setEnabled(false);
        try {
            // States of every request prompt (first) and of the negatives, from the base model.
            List<long[]> prompts = new ArrayList<>();
            for (LossTerms.Example e : all) prompts.add(e.prompt());
            List<long[]> negatives = new ArrayList<>();
            for (QaItem q : retain) {
                negatives.add(tok.encodePrompt(format.prompt(q.question())));
                // The retain file is training data: its own paraphrases are fair negatives, and the wrappers the
                // positives get are put around retain questions too, so the router cannot fire on a wrapper alone.
                for (String p : q.paraphrasedQuestions()) negatives.add(tok.encodePrompt(format.prompt(p)));
                for (String p : PromptVariants.of(q.question())) negatives.add(tok.encodePrompt(format.prompt(p)));
            }
            for (String p : ContextPrefixes.of(m)) if (!p.isBlank()) negatives.add(tok.encodePrompt(format.prompt(p.strip())));
            int width = (int) m.config().hiddenSize();
            List<float[][]> requestStates = PromptStates.of(net, routerLayers, prompts, tok.padId());
            List<float[][]> negativeStates = PromptStates.of(net, routerLayers, negatives, tok.padId());
            double[][] emb = new double[all.size()][];
            for (int i = 0; i < emb.length; i++) emb[i] = PromptStates.embedding(requestStates.get(i), width);
            double[] centre = new double[width];
            for (float[][] st : negativeStates) {
                double[] e = PromptStates.embedding(st, width);
                for (int j = 0; j < width; j++) centre[j] += e[j] / negativeStates.size();
            }
            RetainDistributions ref = retainReference(net, tok, format, retain, seed);
            LossTerms.Reference forgetRef = LossTerms.Reference.of(net, tok.padId(), all, o.forget());
            codebook.setEnabled(true);

            List<String> log = new ArrayList<>();
            TreeSet<Integer> touched = new TreeSet<>();
            LshPlacer placer;
            if (fresh) {
                placer = new LshPlacer(centre, bits, capacity, seed);
                BalancedKMeans.Result km = BalancedKMeans.fit(emb, k, capacity, seed, 50);
                for (int c = 0; c < k; c++) {
                    List<Integer> edits = new ArrayList<>(), forgets = new ArrayList<>();
                    for (int i = 0; i < all.size(); i++)
                        if (km.assignment()[i] == c) (all.get(i).request().kind() == KnowledgeRequest.Kind.EDIT ? edits : forgets).add(i);
                    if (edits.isEmpty() && forgets.isEmpty()) continue;
                    int mem = codebook.addMemory(seed * 31 + codebook.size());
                    List<Integer> members = new ArrayList<>(edits);
                    if (!edits.isEmpty() && !forgets.isEmpty()) {
                        double score = conflictScore(net, tok.padId(), codebook, mem, all, edits, forgets, forgetRef, o, probes, seed + c);
                        boolean split = score < tau;
                        log.add(String.format("cluster %d: %d edits, %d forgets, conflict score %.3f -> %s", c, edits.size(), forgets.size(), score,
                                split ? "task-specific memories" : "one multi-task memory"));
                        if (split) {
                            int other = codebook.addMemory(seed * 31 + codebook.size());
                            for (int i : forgets) setMemory(memoryOf, i, other);
                            placer.register(placer.bucket(mean(emb, forgets)), other, forgets.size());
                            touched.add(other);
                        } else {
                            members.addAll(forgets);
                        }
                    } else {
                        members.addAll(forgets);
                    }
                    for (int i : members) setMemory(memoryOf, i, mem);
                    placer.register(placer.bucket(mean(emb, members)), mem, members.size());
                    touched.add(mem);
                }
            } else {
                placer = restorePlacer(lsh);
                for (int from = before; from < all.size(); from += capacity) {
                    List<Integer> chunk = new ArrayList<>();
                    for (int i = from; i < Math.min(all.size(), from + capacity); i++) chunk.add(i);
                    double[][] batch = chunk.stream().map(i -> emb[i]).toArray(double[][]::new);
                    int mem = placer.place(batch);
                    while (codebook.size() <= mem) codebook.addMemory(seed * 31 + codebook.size());
                    for (int i : chunk) setMemory(memoryOf, i, mem);
                    touched.add(mem);
                    log.add(String.format("batch of %d -> memory %d (%d memories)", chunk.size(), mem, codebook.size()));
                }
            }
            try (ProgressBar bar = Progress.bar("loka memories", touched.size())) {
                for (int mem : touched) {
                    List<Integer> edits = new ArrayList<>(), forgets = new ArrayList<>();
                    for (int i = 0; i < all.size(); i++)
                        if (memoryOf.get(i) == mem) (all.get(i).request().kind() == KnowledgeRequest.Kind.EDIT ? edits : forgets).add(i);
                    train(net, tok.padId(), codebook, mem, all, edits, forgets, forgetRef, ref, o, seed + mem);
                    bar.step();
                }
            }
            ref.release();

            // The router: update prompts and their variants against the negatives; one centroid per memory.
            List<long[]> variants = new ArrayList<>();
            for (LossTerms.Example e : all)
                for (String p : PromptVariants.of(e.request().question())) variants.add(tok.encodePrompt(format.prompt(p)));
            double[][] centroids = new double[codebook.size()][width];
            int[] counts = new int[codebook.size()];
            for (int i = 0; i < all.size(); i++) {
                counts[memoryOf.get(i)]++;
                for (int j = 0; j < width; j++) centroids[memoryOf.get(i)][j] += emb[i][j];
            }
            float[] flat = new float[codebook.size() * width];
            for (int c = 0; c < centroids.length; c++) for (int j = 0; j < width; j++) flat[c * width + j] = (float) (centroids[c][j] / Math.max(1, counts[c]));
            codebook.setEnabled(false);
            // The request prompts' states are those computed above (the router layers never see a memory).
            List<float[][]> positiveStates = new ArrayList<>(requestStates);
            positiveStates.addAll(PromptStates.of(net, routerLayers, variants, tok.padId()));
            RouterTraining.fit(codebook, positiveStates, negativeStates, Tensors.floats(flat, codebook.size(), width), rs);
            codebook.setState(state(all, memoryOf, placer, lshCentre(lsh, centre), bits, capacity, seed).toString());
            for (String line : log) Progress.note("loka: " + line);
        } catch (RuntimeException e) {
            if (fresh) codebook.detach();
            throw e;
        } finally {
            codebook.setEnabled(true);
        }
        if (fresh) m.attach(codebook);
        return new MemoryChange(name(), m, codebook, fresh, "loka: " + requests.size() + " requests into a codebook of "
                + codebook.size() + " memories (layers " + join(memoryLayers) + ", router on layers " + join(routerLayers) + ")");
    }

    /** The KL retention term's reference over a seeded sample of at most {@link #RETAIN_CAP} retain questions. */
    private static RetainDistributions retainReference(CausalLM net, Tokenizer tok, QuestionFormat format, List<QaItem> retain, long seed) {
        List<QaItem> items = new ArrayList<>(retain);
        java.util.Collections.shuffle(items, new Random(seed));
        List<long[]> prompts = new ArrayList<>(), answers = new ArrayList<>();
        for (QaItem q : items.subList(0, Math.min(RETAIN_CAP, items.size()))) {
            prompts.add(format.promptIds(tok, q.question()));
            answers.add(format.answerIds(tok, q.answer()));
        }
        return RetainDistributions.of(net, prompts, answers, tok.padId());
    }

    private static List<Integer> order(int n) {
        List<Integer> o = new ArrayList<>();
        for (int i = 0; i < n; i++) o.add(i);
        return o;
    }

    private static void setMemory(List<Integer> memoryOf, int i, int mem) {
        while (memoryOf.size() <= i) memoryOf.add(-1);
        memoryOf.set(i, mem);
    }

    private static double[] mean(double[][] emb, List<Integer> idx) {
        double[] m = new double[emb[0].length];
        for (int i : idx) for (int j = 0; j < m.length; j++) m[j] += emb[i][j] / idx.size();
        return m;
    }

    /** The conflict score of a cluster: mean cosine of edit and forget gradients over probe batches, on a fresh memory. */
    private static double conflictScore(CausalLM net, long pad, LokaCodebook codebook, int mem, List<LossTerms.Example> all, List<Integer> edits,
            List<Integer> forgets, LossTerms.Reference ref, Options o, int probes, long seed) {
        Random rnd = new Random(seed);
        List<java.util.function.Supplier<Tensor>> e = new ArrayList<>(), f = new ArrayList<>();
        for (int p = 0; p < probes; p++) {
            List<Integer> eb = sample(edits, o.batch(), rnd), fb = sample(forgets, o.batch(), rnd);
            e.add(() -> LossTerms.edit(net, all, eb, pad));
            f.add(() -> LossTerms.forget(net, all, fb, ref, o.forget(), o.beta(), 0, pad));
        }
        codebook.force(mem);
        try {
            return GradientConflict.score(e, f, codebook.parameters(mem));
        } finally {
            codebook.force(null);
        }
    }

    private static List<Integer> sample(List<Integer> from, int n, Random rnd) {
        List<Integer> copy = new ArrayList<>(from);
        java.util.Collections.shuffle(copy, rnd);
        return copy.subList(0, Math.min(n, copy.size()));
    }

    /**
     * Trains memory {@code mem} on its edits and forgets (and the retention loss). With both kinds, each step
     * combines the two task gradients by the minimum-norm rule; the retention gradient is added to that.
     */
    private static void train(CausalLM net, long pad, LokaCodebook codebook, int mem, List<LossTerms.Example> all, List<Integer> edits,
            List<Integer> forgets, LossTerms.Reference ref, RetainDistributions retain, Options o, long seed) {
        List<Tensor> params = codebook.parameters(mem);
        for (Tensor p : params) p.set_requires_grad(true);
        Optimizer opt = Optimizers.adamW(params, o.lr(), 0);
        Random rnd = new Random(seed);
        int steps = o.epochs() * (int) Math.ceil(Math.max(edits.size(), forgets.size()) / (double) o.batch());
        codebook.force(mem);
        try {
            List<Integer> eo = new ArrayList<>(edits), fo = new ArrayList<>(forgets), ro = order(retain.size());
            for (int step = 0; step < steps; step++) {
                try (PointerScope scope = new PointerScope()) {
                    if (step * o.batch() % Math.max(1, Math.max(edits.size(), forgets.size())) < o.batch()) {
                        java.util.Collections.shuffle(eo, rnd);
                        java.util.Collections.shuffle(fo, rnd);
                    }
                    Tensor g = null;
                    Tensor ge = eo.isEmpty() ? null : GradientConflict.gradient(LossTerms.edit(net, all, GradientConflict.cyclic(eo, step, o.batch()), pad), params);
                    Tensor gf = fo.isEmpty() ? null : GradientConflict.gradient(LossTerms.forget(net, all, GradientConflict.cyclic(fo, step, o.batch()), ref, o.forget(), o.beta(), 0, pad), params);
                    if (ge != null && gf != null) {
                        double w = GradientConflict.minNormWeight(ge, gf);
                        g = ge.mul(Tensors.scalar(w)).add(gf.mul(Tensors.scalar(1 - w)));
                    } else {
                        g = ge != null ? ge : gf;
                    }
                    if (retain.size() > 0 && o.retainWeight() > 0)
                        g = g.add(GradientConflict.gradient(retain.kl(net, GradientConflict.cyclic(ro, step, o.batch()), pad), params).mul(Tensors.scalar(o.retainWeight())));
                    GradientConflict.setGradients(params, g);
                    opt.step();
                }
            }
        } finally {
            codebook.force(null);
            for (Tensor p : params) p.set_requires_grad(false);
        }
    }

    // --- the saved state: requests with their memories, and the LSH buckets ---

    private static ObjectNode state(List<LossTerms.Example> all, List<Integer> memoryOf, LshPlacer placer, double[] centre, int bits, int capacity, long seed) {
        ObjectNode root = JSON.createObjectNode();
        ArrayNode reqs = root.putArray("requests");
        for (int i = 0; i < all.size(); i++) {
            KnowledgeRequest r = all.get(i).request();
            ObjectNode n = reqs.addObject();
            n.put("kind", r.kind().name()).put("question", r.question()).put("answer", r.answer()).put("target", r.target()).put("memory", memoryOf.get(i));
        }
        ObjectNode l = root.putObject("lsh");
        l.put("bits", bits).put("capacity", capacity).put("seed", seed);
        ArrayNode c = l.putArray("centre");
        for (double v : centre) c.add(v);
        ObjectNode b = l.putObject("buckets");
        placer.buckets().forEach((bucket, mem) -> b.put(String.valueOf(bucket), mem));
        ArrayNode loads = l.putArray("loads");
        for (int i = 0; i < placer.memories(); i++) loads.add(placer.load(i));
        return root;
    }

    /** The LSH centre: the saved one on a sequential update (placement must not shift), else the negatives' mean embedding. */
    private static double[] lshCentre(ObjectNode lsh, double[] centre) {
        if (lsh == null) return centre;
        double[] c = new double[lsh.get("centre").size()];
        for (int i = 0; i < c.length; i++) c[i] = lsh.get("centre").get(i).asDouble();
        return c;
    }

    private static JsonNode readState(String s) {
        try {
            return JSON.readTree(s);
        } catch (Exception e) {
            throw new UserError("loka: the codebook's saved state is not valid JSON (" + e.getMessage() + ")");
        }
    }

    private static ObjectNode restore(JsonNode root, Tokenizer tok, QuestionFormat format, List<LossTerms.Example> all, List<Integer> memoryOf) {
        if (!root.has("requests") || !root.has("lsh")) throw new UserError("loka: the codebook's saved state lacks its requests or LSH buckets");
        for (JsonNode n : root.get("requests")) {
            KnowledgeRequest r = new KnowledgeRequest(KnowledgeRequest.Kind.valueOf(n.get("kind").asText()), n.get("question").asText(),
                    n.hasNonNull("answer") ? n.get("answer").asText() : null, n.hasNonNull("target") ? n.get("target").asText() : null, null);
            setMemory(memoryOf, all.size(), n.get("memory").asInt());
            all.add(LossTerms.example(r, tok, format));
        }
        return (ObjectNode) root.get("lsh");
    }

    private static LshPlacer restorePlacer(ObjectNode lsh) {
        LshPlacer p = new LshPlacer(lshCentre(lsh, null), lsh.get("bits").asInt(), lsh.get("capacity").asInt(), lsh.get("seed").asLong());
        Map<Integer, Long> bucketOf = new LinkedHashMap<>();
        lsh.get("buckets").fields().forEachRemaining(e -> bucketOf.put(e.getValue().asInt(), Long.parseLong(e.getKey())));
        for (int i = 0; i < lsh.get("loads").size(); i++) {
            Long b = bucketOf.get(i);
            p.register(b == null ? -1 - i : b, i, lsh.get("loads").get(i).asInt());
        }
        return p;
    }

    private static String range(int from, int to) {
        StringBuilder b = new StringBuilder();
        for (int i = from; i < to; i++) b.append(b.length() == 0 ? "" : ",").append(i);
        return b.toString();
    }

    private static String join(int[] xs) {
        return String.join(",", Arrays.stream(xs).mapToObj(String::valueOf).toList());
    }

    private static int[] ints(String s, String key) {
        try {
            return Arrays.stream(s.split(",")).map(String::strip).mapToInt(Integer::parseInt).toArray();
        } catch (NumberFormatException e) {
            throw new UserError("loka: " + key + " must be comma-separated layer numbers, got '" + s + "'");
        }
    }
}
