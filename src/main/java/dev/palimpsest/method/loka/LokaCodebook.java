package dev.palimpsest.method.loka;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import dev.palimpsest.UserError;
import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.DType;
import dev.palimpsest.model.Linear;
import dev.palimpsest.model.LoraAdapter;
import dev.palimpsest.model.Memory;
import dev.palimpsest.model.MemoryReader;
import dev.palimpsest.model.SafeTensorsFile;
import dev.palimpsest.model.SafeTensorsWriter;
import dev.palimpsest.model.Site;
import dev.palimpsest.model.SiteHooks;
import dev.palimpsest.tensor.Tensors;

/**
 * LOKA's knowledge codebook (Zhang et al.): several low-rank memories (LoRA on the MLP down-projections of
 * {@code memoryLayers}) beside an unchanged base model, and a router that decides per position whether the
 * input touches updated knowledge and, if so, which memory to plug in.
 * <p>The router reads the residual stream after {@code routerLayers} (all before the first memory layer, so it
 * always sees the base model's states); its keys are token states of the last router layer, preceded by the input
 * embeddings of {@code embedded} tokens (the token's, and with 2 the one before's too), standardized and
 * L2-normalized (see {@link RouterKeys}). A token's margin for a memory is its cosine to that memory's nearest
 * positive key (a token of one of its update prompts) minus its cosine to the nearest negative key (a token of an
 * unrelated prompt); a memory's evidence is its positive margins summed over the tokens so far. The router fires
 * once some memory's evidence exceeds {@code threshold} and adds the memory with the most evidence. The evidence
 * continues across KV-cache passes, so teacher-forced scoring and cached generation route alike. Where it does not
 * fire the base model computes alone.
 * <p>{@code state} is the trainer's own record (its requests, its LSH buckets), saved and loaded verbatim.
 */
public final class LokaCodebook implements Memory {
    public static final String FILE = "palimpsest_loka.safetensors";

    private final CausalLM net;
    private final int[] routerLayers, memoryLayers;
    private final int rank;
    private final double alpha;
    private final int embedded;
    private final List<List<LoraAdapter>> memories = new ArrayList<>();
    private Tensor routerMean, routerStd, positiveKeys, positiveMemory, negativeKeys;
    private double threshold = Double.POSITIVE_INFINITY;
    private String state = "{}";
    private final List<SiteHooks.Handle> hooks = new ArrayList<>();
    private Integer forced;
    private boolean enabled = true;
    // This pass: the route [batch, tokens].
    private Tensor route;
    private final Tensor[] lastKeys;
    // This pass: the input embeddings, when the keys include them; across passes, the last one [batch, width].
    private Tensor passEmbedding, runEmbedding;
    // Across KV-cache passes: each memory's evidence so far [batch, memories].
    private Tensor runEvidence;
    private int[] lastRoute = new int[0];

    public LokaCodebook(CausalLM net, int[] routerLayers, int[] memoryLayers, int rank, double alpha, int embedded) {
        this.net = net;
        if (embedded < 0 || embedded > 2) throw new UserError("loka: a router key holds the input embeddings of 0, 1 or 2 tokens, not " + embedded);
        this.embedded = embedded;
        this.routerLayers = routerLayers.clone();
        this.memoryLayers = memoryLayers.clone();
        this.rank = rank;
        this.alpha = alpha;
        if (routerLayers.length == 0 || memoryLayers.length == 0) throw new UserError("loka: needs at least one router layer and one memory layer");
        int lastRouter = Arrays.stream(routerLayers).max().getAsInt();
        for (int l : memoryLayers)
            if (l <= lastRouter || l >= net.numLayers())
                throw new UserError("loka: memory layer " + l + " must come after the router layers (last " + lastRouter + ") and exist (0.." + (net.numLayers() - 1) + ")");
        for (int l : routerLayers) if (l < 0) throw new UserError("loka: router layer " + l + " does not exist");
        lastKeys = new Tensor[memoryLayers.length];
        if (embedded > 0) hooks.add(net.sites().add(0, Site.RESID_PRE, e -> {
            passEmbedding = e;
            return e;
        }));
        hooks.add(net.sites().add(lastRouter, Site.RESID_POST, h -> {
            routerStep(h);
            return h;
        }));
        for (int j = 0; j < memoryLayers.length; j++) {
            int jj = j;
            hooks.add(net.sites().add(memoryLayers[j], Site.MLP_KEY, k -> {
                lastKeys[jj] = k;
                return k;
            }));
            hooks.add(net.sites().add(memoryLayers[j], Site.MLP_OUT, o -> add(jj, o)));
        }
    }

    /** Appends a fresh memory (B = 0, so it adds nothing until trained); returns its index. Seeded. */
    public int addMemory(long seed) {
        torch.manual_seed(seed);
        List<LoraAdapter> m = new ArrayList<>();
        for (int l : memoryLayers) {
            Linear down = net.linear(net.downProjection(l));
            m.add(LoraAdapter.create(down.inFeatures(), down.outFeatures(), rank, alpha, ScalarType.Float));
        }
        memories.add(m);
        return memories.size() - 1;
    }

    /** Memory i's adapters by the down-projection each acts on (what a PEFT export of the memory holds). */
    public Map<String, LoraAdapter> memory(int i) {
        Map<String, LoraAdapter> out = new LinkedHashMap<>();
        for (int j = 0; j < memoryLayers.length; j++) out.put(net.downProjection(memoryLayers[j]), memories.get(i).get(j));
        return out;
    }

    /** Memory i's trainable tensors (A and B per memory layer). */
    public List<Tensor> parameters(int i) {
        List<Tensor> out = new ArrayList<>();
        for (LoraAdapter a : memories.get(i)) {
            out.add(a.a());
            out.add(a.b());
        }
        return out;
    }

    /** While set, memory {@code i} (or none, for null) is added at every position, with gradients: for training it. */
    public void force(Integer i) {
        forced = i;
    }

    /** Disabled (and not forced), the codebook adds nothing: the base model computes alone. */
    public void setEnabled(boolean on) {
        enabled = on;
    }

    /**
     * Sets the router: standardization ({@code mean}, {@code std} of the last router layer's states), the
     * normalized positive keys [P, width] with the memory of each [P] (long), the normalized negative keys [N, width]
     * and the threshold on a token's score.
     */
    public void setRouter(Tensor mean, Tensor std, Tensor positives, Tensor memoryOf, Tensor negatives, double threshold) {
        if (positives.size(0) != memoryOf.size(0)) throw new IllegalArgumentException(positives.size(0) + " positive keys, " + memoryOf.size(0) + " labels");
        for (Tensor t : new Tensor[] {routerMean, routerStd, positiveKeys, positiveMemory, negativeKeys}) if (t != null) t.releaseReference();
        routerMean = Tensors.retainedCopy(mean);
        routerStd = Tensors.retainedCopy(std);
        positiveKeys = Tensors.retainedCopy(positives);
        positiveMemory = memoryOf.detach().toType(ScalarType.Long).contiguous().clone(); // an index: kept as longs
        positiveMemory.retainReference();
        negativeKeys = Tensors.retainedCopy(negatives);
        this.threshold = threshold;
    }

    /** Standardized, L2-normalized states [.., width]: what the router's keys and queries are. */
    static Tensor normalize(Tensor states, Tensor mean, Tensor std) {
        Tensor z = states.toType(ScalarType.Float).sub(mean).div(std);
        return z.div(z.norm(new org.bytedeco.pytorch.ScalarOptional(Tensors.scalar(2.0)), new long[] {-1}, true).clamp_min(Tensors.scalar(1e-6)));
    }

    /**
     * Each token's margin per memory [.., tokens, memories]: its cosine to the nearest positive key of that memory minus
     * its cosine to the nearest negative key (-1 − that for a memory without keys).
     */
    public Tensor margins(Tensor states) {
        Tensor z = normalize(states, routerMean, routerStd);
        Tensor pos = z.matmul(positiveKeys.t()), neg = z.matmul(negativeKeys.t()).amax(new long[] {-1}, true);
        long[] keys = new long[(int) pos.dim()], perMemory = new long[keys.length];
        for (int i = 0; i < keys.length; i++) keys[i] = perMemory[i] = pos.size(i);
        perMemory[keys.length - 1] = memories.size();
        // Each memory's best cosine: the amax of its keys' columns; -1 (the least a cosine can be) where it has none.
        Tensor best = pos.new_full(perMemory, Tensors.scalar(-1.0)).scatter_reduce(-1, positiveMemory.expand(keys), pos, "amax", true);
        return best.sub(neg);
    }

    private void routerStep(Tensor h) {
        Tensor e = passEmbedding;
        passEmbedding = null;
        if (positiveKeys == null || forced != null || !enabled || memories.isEmpty()) return;
        try (NoGradGuard g = new NoGradGuard()) {
            boolean continues = net.sites().passPast() > 0 && runEmbedding != null && runEmbedding.size(0) == h.size(0);
            Tensor x = embedded == 0 ? h.detach() : PromptStates.keys(e.detach(), continues ? runEmbedding : null, embedded, h.detach());
            if (embedded > 0) {
                if (runEmbedding != null) runEmbedding.releaseReference();
                runEmbedding = Tensors.retainedCopy(e.detach().select(1, e.size(1) - 1).toType(ScalarType.Float));
            }
            decide(x);
        }
    }

    /**
     * The route of every position of this pass: the memory with the most evidence so far (its positive margins summed
     * over the tokens), where that exceeds the threshold. Summing asks for several matching tokens (one shared subword
     * of a name is not enough) and, when several memories hold requests about one subject, lets the words around the
     * subject choose.
     */
    private void decide(Tensor x) {
        long b = x.size(0), t = x.size(1);
        Tensor passMask = net.sites().passKeyMask();
        boolean continues = net.sites().passPast() > 0 && runEvidence != null && runEvidence.size(0) == b;
        Tensor margin = margins(x);
        if (passMask != null) margin = torch.where(passMask.toType(ScalarType.Bool).unsqueeze(2), margin, Tensors.scalar(-2.0));
        Tensor evidence = margin.clamp_min(Tensors.scalar(0.0)).cumsum(1);
        if (continues) evidence = evidence.add(runEvidence.unsqueeze(1));
        var best = evidence.max(2, false);
        route = net.sites().keepForPass(torch.where(best.get0().gt(Tensors.scalar(threshold)), best.get1(), Tensors.scalar(-1L)));
        if (runEvidence != null) runEvidence.releaseReference();
        runEvidence = Tensors.retainedCopy(Tensors.slice(evidence, 1, t - 1, t).view(b, -1));
        lastRoute = Arrays.stream(Tensors.toLongs(Tensors.slice(route, 1, t - 1, t).contiguous())).mapToInt(v -> (int) v).toArray();
    }

    private Tensor add(int j, Tensor out) {
        Tensor keys = lastKeys[j];
        lastKeys[j] = null;
        if (keys == null) return out;
        if (forced != null) return out.add(memories.get(forced).get(j).apply(keys.toType(ScalarType.Float)).toType(Tensors.dtype(out)));
        if (!enabled || route == null || route.size(0) != out.size(0) || route.size(1) != out.size(1)) return out;
        try (NoGradGuard g = new NoGradGuard()) {
            if (Tensors.item(route.ge(Tensors.scalar(0L)).any()) == 0) return out;
            Tensor k = keys.detach().toType(ScalarType.Float), added = null;
            for (int i = 0; i < memories.size(); i++) {
                Tensor here = route.eq(Tensors.scalar((long) i));
                if (Tensors.item(here.any()) == 0) continue;
                Tensor a = memories.get(i).get(j).apply(k).mul(here.unsqueeze(2).toType(ScalarType.Float));
                added = added == null ? a : added.add(a);
            }
            return added == null ? out : out.add(added.toType(Tensors.dtype(out)));
        }
    }

    /** Which memory the last forward pass plugged in at each row's last position (-1: none, the base model answered). */
    public int[] lastRoute() {
        return lastRoute.clone();
    }

    /** Each memory's evidence after the last forward pass, row by row ([batch · memories]); empty before any routing. */
    float[] lastEvidence() {
        return runEvidence == null ? new float[0] : Tensors.toFloats(runEvidence.contiguous());
    }

    public int size() {
        return memories.size();
    }

    public int[] routerLayers() {
        return routerLayers.clone();
    }

    public int[] memoryLayers() {
        return memoryLayers.clone();
    }

    public int rank() {
        return rank;
    }

    public double alpha() {
        return alpha;
    }

    /** How many tokens' input embeddings (the token's, then the one before's) the router's keys begin with. */
    public int embedded() {
        return embedded;
    }

    public double threshold() {
        return threshold;
    }

    public String state() {
        return state;
    }

    public void setState(String json) {
        state = json;
    }

    @Override
    public String file() {
        return FILE;
    }

    @Override
    public void write(Path file) throws IOException {
        if (positiveKeys == null) throw new IllegalStateException("loka: the codebook has no router yet");
        Map<String, Tensor> t = new LinkedHashMap<>();
        for (int i = 0; i < memories.size(); i++)
            for (int j = 0; j < memoryLayers.length; j++) {
                t.put("memory." + i + ".layer." + memoryLayers[j] + ".A", memories.get(i).get(j).a());
                t.put("memory." + i + ".layer." + memoryLayers[j] + ".B", memories.get(i).get(j).b());
            }
        t.put("router.mean", routerMean);
        t.put("router.std", routerStd);
        t.put("router.positives", positiveKeys);
        t.put("router.positive_memory", positiveMemory.toType(ScalarType.Float));
        t.put("router.negatives", negativeKeys);
        SafeTensorsWriter.write(file, t, DType.F32, Map.of("router_layers", join(routerLayers), "memory_layers", join(memoryLayers),
                "rank", String.valueOf(rank), "alpha", String.valueOf(alpha), "router_embedded", String.valueOf(embedded), "memories", String.valueOf(memories.size()),
                "threshold", String.valueOf(threshold), "state", state, "format", "pt"));
    }

    private static String join(int[] xs) {
        return String.join(",", Arrays.stream(xs).mapToObj(String::valueOf).toList());
    }

    private static int[] parse(String s) {
        return Arrays.stream(s.split(",")).mapToInt(Integer::parseInt).toArray();
    }

    /** Reads the memory from its file, opened by the caller (who closes it). */
    public static LokaCodebook read(CausalLM net, SafeTensorsFile f) {
        Path file = f.path();
        Map<String, String> md = f.metadata();
        LokaCodebook c;
        int n;
        double thr;
        try {
            // Files written before keys could include input embeddings have no router_embedded: they did not.
            c = new LokaCodebook(net, parse(md.get("router_layers")), parse(md.get("memory_layers")), Integer.parseInt(md.get("rank")),
                    Double.parseDouble(md.get("alpha")), Integer.parseInt(md.getOrDefault("router_embedded", "0")));
            n = Integer.parseInt(md.get("memories"));
            thr = Double.parseDouble(md.get("threshold"));
        } catch (RuntimeException e) {
            throw new UserError(file + ": missing or bad metadata (router_layers, memory_layers, rank, alpha, memories, threshold)");
        }
        try {
            for (int i = 0; i < n; i++) {
                List<LoraAdapter> m = new ArrayList<>();
                for (int l : c.memoryLayers) {
                    Tensor a = Tensors.retainedCopy(load(f, file, "memory." + i + ".layer." + l + ".A")), b = Tensors.retainedCopy(load(f, file, "memory." + i + ".layer." + l + ".B"));
                    m.add(new LoraAdapter(a, b, c.alpha));
                }
                c.memories.add(m);
            }
            if (f.entries().containsKey("router.weight"))
                throw new UserError(file + ": a codebook with the earlier linear router, which this version no longer reads; run the update again");
            c.setRouter(load(f, file, "router.mean"), load(f, file, "router.std"), load(f, file, "router.positives"),
                    load(f, file, "router.positive_memory").toType(ScalarType.Long), load(f, file, "router.negatives"), thr);
        } catch (RuntimeException e) {
            c.detach();
            throw e instanceof UserError u ? u : new UserError(file + ": " + e.getMessage());
        }
        c.state = md.getOrDefault("state", "{}");
        return c;
    }

    private static Tensor load(SafeTensorsFile f, Path file, String name) {
        if (!f.entries().containsKey(name)) throw new UserError(file + ": missing tensor '" + name + "'");
        return f.load(name, ScalarType.Float);
    }

    @Override
    public void detach() {
        hooks.forEach(SiteHooks.Handle::close);
        hooks.clear();
        if (runEvidence != null) runEvidence.releaseReference();
        runEvidence = null;
        if (runEmbedding != null) runEmbedding.releaseReference();
        runEmbedding = null;
    }

    /** Restores this memory when a model directory holding its file loads (found by {@link MemoryReader#all}). */
    public static final class Reader extends MemoryReader.Of {
        public Reader() {
            super(FILE, LokaCodebook::read);
        }
    }
}
