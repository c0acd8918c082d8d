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
import dev.palimpsest.request.Subjects;
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
 * batches, without updating. Below τ the cluster gets two task-specific memories ({@code tau} = 1, the default: always,
 * since a fresh memory's score, −0.06 to 0.11 on the default world, never foretold that 72–95 % of a shared memory's
 * training steps then conflict; τ = 0 splits only clusters whose gradients pull apart at the start); otherwise one multi-task memory trained with the two-task minimum-norm (MGDA) combination of the two
 * gradients, each first scaled to unit norm ({@code mgda=normalized}; as they are, the NPO gradient got 7–15 % of the
 * weight on the default world and the memories hardly forgot).</li>
 * <li><b>Training.</b> Each memory only on its own requests: editing = NLL of the new target; unlearning = the NLL of
 * the request's refusal (editing as unlearning; {@code forget_loss=npo}: NPO, β 0.1, against the base model);
 * retention = KL from the base model (weight {@code retain_weight} = 1) on a sample of the retain set's answers and
 * on every phrasing of the memory's <i>neighbours</i>: retain questions that name all of one of its requests'
 * subjects ({@link Subjects#all}: both companies of a contract), which the router may send to it. AdamW lr 5e-3, {@code epochs} = 200 passes over the memory's
 * requests in batches of 4; LoRA rank 8, alpha 16 on the down-projections of {@code memory_layers} (default the
 * upper half of the layers).</li>
 * <li><b>Router.</b> Keys (see {@link RouterKeys}): a token's state at the last of {@code router_layers} (default the
 * lower half), preceded by the input embeddings of the token and of the one before it ({@code router_keys=bigram+state}:
 * the lower layers of a small model hardly tell one name from another in the same question — "Farrowgate" and
 * "Quillford" after "Which river flows through" at cosine 0.9999 — while the embeddings do, and the pair binds a
 * first name to its surname); positives every token of the requests' prompts and their {@link PromptVariants}, labelled with their memory;
 * negatives every token of the retain questions that are not neighbours (with their paraphrases and variants), of
 * each request's question asked about {@value #SWAPS} other subjects of the retain set, every subject replaced (so the
 * words around a subject cannot fire alone) and of the model's context prefixes. A token's margin for a memory is its nearest positive
 * key's cosine minus its nearest negative key's; the router plugs in the memory whose margins, summed over the
 * tokens so far, are largest, once they exceed {@code router_threshold} = 0.2.</li>
 * <li><b>Sequential updates.</b> On a model that already has a codebook, each new batch's edits and its forgets,
 * apart (in chunks of at most {@code capacity}), are placed by random-hyperplane LSH ({@code lsh_bits} = 4, centred
 * on the negatives' mean embedding, the bucket keyed by the task too) into their bucket's memory, or a new memory
 * when the bucket is empty or full: task-specific memories, as the default τ gives the first update; only the
 * memories that receive requests are trained again (on all their requests), and the router is refitted on every
 * request so far.</li>
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
    record Options(int batch, int epochs, double lr, double retainWeight, LossTerms.Forget forget, double beta, boolean normalize) {}

    /** At most this many retain questions (a seeded sample) enter the KL retention term. */
    static final int RETAIN_CAP = 64;

    /** What a router key can be, by the number of input embeddings it begins with. */
    static final List<String> KEYS = List.of("state", "embedding+state", "bigram+state");

    /** The router's keys unless set: see the {@code router_keys} setting. */
    static final String DEFAULT_KEYS = "bigram+state";

    /** Other subjects each request's question is asked about, as router negatives. */
    static final int SWAPS = 3;

    @Override
    public List<Setting> settings() {
        return List.of(
                Setting.text("router_layers").rule("the lower half of the layers (the codebook's on a model that has one)", "the router reads the last of them; the memories sit above them all"),
                Setting.text("memory_layers").rule("the upper half (the codebook's on a model that has one)", "layers whose MLP down-projections get the memories' LoRA"),
                Setting.atLeast("rank", 1).rule("8 (the codebook's on a model that has one)", "LoRA rank of each memory"),
                Setting.positive("alpha").rule("2 × rank (the codebook's on a model that has one)", "LoRA alpha"),
                Setting.atLeast("capacity", 1).is(10, "requests per memory at most"),
                Setting.atLeast("memories", 1).rule("⌈requests / capacity⌉", "clusters of a fresh codebook"),
                Setting.atLeast("probes", 1).is(3, "probe batches averaged for a cluster's conflict score"),
                Setting.real("tau").is(1.0, "conflict threshold: below it a cluster gets task-specific memories (1: always; 0: only when the gradients pull apart at the start)"),
                Setting.oneOf("forget_loss", "npo", "ga", "refusal").is("refusal", "the memories' forgetting term"),
                Setting.oneOf("mgda", "plain", "normalized").is("normalized", "the min-norm combination of a multi-task memory's two gradients: as they are, or each at unit norm"),
                Setting.atLeast("batch", 1).is(4, "requests per step"),
                Setting.atLeast("epochs", 1).is(200, "passes over a memory's requests"),
                Setting.learningRate("lr").is(5e-3, "AdamW rate of the memories"),
                Setting.nonNegative("retain_weight").is(1.0, "weight of the KL retention term"),
                Setting.positive("beta").is(0.1, "NPO's inverse temperature"),
                Setting.oneOf("router_keys", KEYS.toArray(String[]::new)).rule(DEFAULT_KEYS + " (the codebook's on a model that has one)",
                        "what a router key is: the token's state at the last router layer, preceded by the token's input embedding (embedding+) or by its own and the previous token's (bigram+)"),
                Setting.real("router_threshold").is(0.2, "the router fires once a memory's evidence (its tokens' margins over the nearest negative key, summed) exceeds this"),
                Setting.between("lsh_bits", 1, 61).is(4, "random hyperplanes placing sequential updates"));
    }

    @Override
    public String withoutRetain() {
        return "loka learns where its router must stay silent from the retain questions; without any it fires on unrelated questions "
                + "(on the default model 61 of 100 other answers changed after 20 requests without, 8 with 40 retain questions)";
    }

    @Override
    public boolean keepsWeights() {
        return true;
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
        int embedded = KEYS.indexOf(s.text("router_keys", existing != null ? KEYS.get(existing.embedded()) : DEFAULT_KEYS));
        int capacity = s.integer("capacity");
        int probes = s.integer("probes");
        double tau = s.real("tau");
        Options o = new Options(s.integer("batch"), s.integer("epochs"), s.real("lr"), s.real("retain_weight"),
                LossTerms.Forget.parse(s.text("forget_loss")), s.real("beta"), s.text("mgda").equals("normalized"));
        double threshold = s.real("router_threshold");
        int bits = s.integer("lsh_bits");
        int k = s.integer("memories", (int) Math.ceil(requests.size() / (double) Math.max(1, capacity)));
        if (requests.isEmpty()) throw new UserError("loka: no requests");
        if ((long) k * capacity < requests.size())
            throw new UserError("loka: " + k + " memories of capacity " + capacity + " cannot hold " + requests.size() + " requests");
        if (existing != null && (!Arrays.equals(routerLayers, existing.routerLayers()) || !Arrays.equals(memoryLayers, existing.memoryLayers()) || rank != existing.rank()
                || embedded != existing.embedded()))
            throw new UserError("loka: the model's codebook has router layers " + join(existing.routerLayers()) + ", memory layers "
                    + join(existing.memoryLayers()) + ", rank " + existing.rank() + " and router_keys " + KEYS.get(existing.embedded())
                    + "; sequential updates must keep them");

        boolean fresh = existing == null;
        LokaCodebook codebook = fresh ? new LokaCodebook(net, routerLayers, memoryLayers, rank, alpha, embedded) : existing;
        // The stored requests of earlier updates, with their memories, and the LSH state.
        List<LossTerms.Example> all = new ArrayList<>();
        List<Integer> memoryOf = new ArrayList<>();
        ObjectNode lsh = null;
        JsonNode saved = fresh ? null : readState(codebook.state());
        if (!fresh) lsh = restore(saved, tok, format, all, memoryOf);
        int before = all.size();
        for (KnowledgeRequest r : requests) all.add(LossTerms.example(r, tok, format));

        // A retain question that names every subject of an update request is a neighbour of that request: the router may send it to
        // the request's memory, so it is no router negative; the memory is trained to keep its answer instead.
        List<List<String>> subjects = new ArrayList<>();
        for (LossTerms.Example e : all) subjects.add(Subjects.all(e.request()));
        Map<Integer, List<Integer>> neighboursOf = new LinkedHashMap<>(); // retain item -> requests it names the subject of
        for (int q = 0; q < retain.size(); q++)
            for (int i = 0; i < all.size(); i++)
                if (names(retain.get(q).question(), subjects.get(i))) neighboursOf.computeIfAbsent(q, x -> new ArrayList<>()).add(i);

        int[] keyLayer = {Arrays.stream(routerLayers).max().getAsInt()};
        codebook.setEnabled(false);
        try {
            // States of every request prompt (first) and of the negatives, from the base model.
            List<long[]> prompts = new ArrayList<>();
            for (LossTerms.Example e : all) prompts.add(e.prompt());
            List<long[]> negatives = new ArrayList<>();
            for (int q = 0; q < retain.size(); q++) {
                if (neighboursOf.containsKey(q)) continue;
                // The retain file is training data: its own paraphrases are fair negatives, and the wrappers the
                // positives get are put around retain questions too, so the router cannot fire on a wrapper alone.
                for (String p : phrasings(retain.get(q))) negatives.add(tok.encodePrompt(format.prompt(p)));
            }
            // Hard negatives: each request's question about other subjects of the retain set, so that the words around a
            // subject (the question's template) cannot fire by themselves.
            List<String> others = new ArrayList<>(new java.util.TreeSet<>(retain.stream().map(q -> Subjects.guess(q.question()))
                    .filter(x -> x != null && subjects.stream().noneMatch(named -> named.contains(x))).toList()));
            Random pick = new Random(seed);
            for (int i = 0; i < all.size() && !others.isEmpty(); i++)
                for (int swap = 0; swap < SWAPS && !subjects.get(i).isEmpty(); swap++) {
                    String q = all.get(i).request().question();
                    for (String subject : subjects.get(i)) q = q.replace(subject, others.get(pick.nextInt(others.size())));
                    negatives.add(tok.encodePrompt(format.prompt(q)));
                }
            for (String p : ContextPrefixes.of(m)) if (!p.isBlank()) negatives.add(tok.encodePrompt(format.prompt(p.strip())));
            int width = (int) m.config().hiddenSize();
            int keyWidth = (1 + embedded) * width;
            List<float[][]> requestStates = PromptStates.of(net, keyLayer, prompts, tok.padId(), embedded);
            List<float[][]> negativeStates = PromptStates.of(net, keyLayer, negatives, tok.padId(), embedded);
            double[][] emb = new double[all.size()][];
            for (int i = 0; i < emb.length; i++) emb[i] = PromptStates.embedding(requestStates.get(i), width);
            double[] centre = new double[width];
            for (float[][] st : negativeStates) {
                double[] e = PromptStates.embedding(st, width);
                for (int j = 0; j < width; j++) centre[j] += e[j] / negativeStates.size();
            }
            LossTerms.Reference forgetRef = LossTerms.Reference.of(net, tok.padId(), all, o.forget());
            codebook.setEnabled(true);

            List<String> log = new ArrayList<>();
            TreeSet<Integer> touched = new TreeSet<>();
            // How each memory was last trained (kept across sequential updates for the memories not retrained).
            ObjectNode training = saved != null && saved.get("training") instanceof ObjectNode t ? t : JSON.createObjectNode();
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
                            placer.register(placer.bucket(mean(emb, forgets), 1), other, forgets.size());
                            touched.add(other);
                        } else {
                            members.addAll(forgets);
                        }
                    } else {
                        members.addAll(forgets);
                    }
                    for (int i : members) setMemory(memoryOf, i, mem);
                    placer.register(placer.bucket(mean(emb, members), edits.isEmpty() ? 1 : 0), mem, members.size());
                    touched.add(mem);
                }
            } else {
                placer = restorePlacer(lsh);
                // The batch's edits and forgets are placed apart, each among the memories of its task: in one memory
                // their gradients conflicted at 140-194 of 200 steps (10 sequential rounds on the default world).
                for (KnowledgeRequest.Kind kind : KnowledgeRequest.Kind.values()) {
                    List<Integer> ofKind = new ArrayList<>();
                    for (int i = before; i < all.size(); i++) if (all.get(i).request().kind() == kind) ofKind.add(i);
                    for (int from = 0; from < ofKind.size(); from += capacity) {
                        List<Integer> chunk = ofKind.subList(from, Math.min(ofKind.size(), from + capacity));
                        double[][] batch = chunk.stream().map(i -> emb[i]).toArray(double[][]::new);
                        int mem = placer.place(batch, kind == KnowledgeRequest.Kind.EDIT ? 0 : 1);
                        while (codebook.size() <= mem) codebook.addMemory(seed * 31 + codebook.size());
                        for (int i : chunk) setMemory(memoryOf, i, mem);
                        touched.add(mem);
                        log.add(String.format("batch of %d %s -> memory %d (%d memories)", chunk.size(), kind == KnowledgeRequest.Kind.EDIT ? "edits" : "forgets",
                                mem, codebook.size()));
                    }
                }
            }
            try (ProgressBar bar = Progress.bar("loka memories", touched.size())) {
                for (int mem : touched) {
                    List<Integer> edits = new ArrayList<>(), forgets = new ArrayList<>();
                    for (int i = 0; i < all.size(); i++)
                        if (memoryOf.get(i) == mem) (all.get(i).request().kind() == KnowledgeRequest.Kind.EDIT ? edits : forgets).add(i);
                    List<QaItem> keep = new ArrayList<>();
                    neighboursOf.forEach((q, reqs) -> {
                        if (reqs.stream().anyMatch(i -> memoryOf.get(i) == mem)) keep.add(retain.get(q));
                    });
                    RetainDistributions ref = retainReference(net, tok, format, retain, keep, seed);
                    try {
                        Trained t = train(net, tok.padId(), codebook, mem, all, edits, forgets, forgetRef, ref, o, seed + mem);
                        training.set(String.valueOf(mem), t.json());
                        if (t.mixed())
                            log.add(String.format("memory %d: %d edits, %d forgets, mean min-norm weight of the forgetting gradient %.3f, %d of %d steps conflicting (cosine < 0)",
                                    mem, edits.size(), forgets.size(), t.forgetWeight(), t.conflicting(), t.steps()));
                    } finally {
                        ref.release();
                    }
                    bar.step();
                }
            }

            // The router: the update prompts and their variants, each labelled with its memory, against the negatives.
            List<long[]> variants = new ArrayList<>();
            List<Integer> labels = new ArrayList<>(memoryOf.subList(0, all.size()));
            for (int i = 0; i < all.size(); i++)
                for (String p : PromptVariants.of(all.get(i).request().question())) {
                    variants.add(tok.encodePrompt(format.prompt(p)));
                    labels.add(memoryOf.get(i));
                }
            codebook.setEnabled(false);
            // The request prompts' states are those computed above (the router layers never see a memory).
            List<float[][]> positiveStates = new ArrayList<>(requestStates);
            positiveStates.addAll(PromptStates.of(net, keyLayer, variants, tok.padId(), embedded));
            RouterKeys.fit(codebook, positiveStates, labels.stream().mapToInt(Integer::intValue).toArray(), negativeStates, keyWidth, threshold);
            ObjectNode state = state(all, memoryOf, placer, lshCentre(lsh, centre), bits, capacity, seed);
            state.set("training", training);
            codebook.setState(state.toString());
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

    /**
     * The KL retention term's reference: a seeded sample of at most {@link #RETAIN_CAP} retain questions, and every
     * phrasing of the memory's neighbours (retain questions about its requests' subjects, which the router may send it).
     */
    private static RetainDistributions retainReference(CausalLM net, Tokenizer tok, QuestionFormat format, List<QaItem> retain, List<QaItem> neighbours,
            long seed) {
        List<QaItem> items = new ArrayList<>(retain);
        java.util.Collections.shuffle(items, new Random(seed));
        List<long[]> prompts = new ArrayList<>(), answers = new ArrayList<>();
        for (QaItem q : items.subList(0, Math.min(RETAIN_CAP, items.size()))) {
            prompts.add(format.promptIds(tok, q.question()));
            answers.add(format.answerIds(tok, q.answer()));
        }
        for (QaItem q : neighbours)
            for (String p : phrasings(q)) {
                prompts.add(format.promptIds(tok, p));
                answers.add(format.answerIds(tok, q.answer()));
            }
        return RetainDistributions.of(net, prompts, answers, tok.padId());
    }

    /** Whether a question names every one of the subjects (and there are some). */
    private static boolean names(String question, List<String> subjects) {
        for (String s : subjects) if (!question.contains(s)) return false;
        return !subjects.isEmpty();
    }

    /** A retain question, its own paraphrases and its {@link PromptVariants}. */
    private static List<String> phrasings(QaItem q) {
        List<String> out = new ArrayList<>();
        out.add(q.question());
        out.addAll(q.paraphrasedQuestions());
        out.addAll(PromptVariants.of(q.question()));
        return out;
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
     * How a memory's training went: its edits and forgets, its steps, the steps where the editing and forgetting gradients pointed apart
     * (cosine < 0; only a memory with both kinds can have any) and the forgetting gradient's mean min-norm weight
     * (NaN for a memory with one kind).
     */
    public record Trained(int edits, int forgets, int steps, int conflicting, double forgetWeight) {
        /** Whether the memory holds both kinds, so that its two gradients could conflict. */
        public boolean mixed() {
            return edits > 0 && forgets > 0;
        }

        ObjectNode json() {
            ObjectNode n = JSON.createObjectNode();
            n.put("edits", edits).put("forgets", forgets).put("steps", steps).put("conflicting_steps", conflicting);
            if (mixed()) n.put("forget_weight", forgetWeight);
            return n;
        }

        static Trained of(JsonNode n) {
            return new Trained(n.get("edits").asInt(), n.get("forgets").asInt(), n.get("steps").asInt(), n.get("conflicting_steps").asInt(),
                    n.has("forget_weight") ? n.get("forget_weight").asDouble() : Double.NaN);
        }
    }

    /** How each memory of a model's LOKA codebook was last trained, by memory (empty for a model without one). */
    public static Map<Integer, Trained> training(LanguageModel m) {
        LokaCodebook c = m.memory(LokaCodebook.class);
        Map<Integer, Trained> out = new java.util.TreeMap<>();
        if (c == null || c.state() == null || c.state().isBlank()) return out;
        JsonNode t = readState(c.state()).get("training");
        if (t != null) t.fields().forEachRemaining(e -> out.put(Integer.parseInt(e.getKey()), Trained.of(e.getValue())));
        return out;
    }

    /**
     * Trains memory {@code mem} on its edits and forgets (and the retention loss). With both kinds, each step
     * combines the two task gradients by the minimum-norm rule; the retention gradient is added to that.
     */
    private static Trained train(CausalLM net, long pad, LokaCodebook codebook, int mem, List<LossTerms.Example> all, List<Integer> edits,
            List<Integer> forgets, LossTerms.Reference ref, RetainDistributions retain, Options o, long seed) {
        List<Tensor> params = codebook.parameters(mem);
        for (Tensor p : params) p.set_requires_grad(true);
        Optimizer opt = Optimizers.adamW(params, o.lr(), 0);
        Random rnd = new Random(seed);
        List<Double> weights = new ArrayList<>();
        int conflicting = 0;
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
                        if (GradientConflict.cosine(ge, gf) < 0) conflicting++;
                        if (o.normalize()) {
                            // MGDA-UB's variant: each task's gradient at unit norm, so the larger one cannot drown the other.
                            ge = ge.div(Tensors.scalar(Math.max(1e-12, Tensors.item(ge.norm()))));
                            gf = gf.div(Tensors.scalar(Math.max(1e-12, Tensors.item(gf.norm()))));
                        }
                        double w = GradientConflict.minNormWeight(ge, gf);
                        weights.add(w);
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
        return new Trained(edits.size(), forgets.size(), steps, conflicting, 1 - weights.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN));
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
