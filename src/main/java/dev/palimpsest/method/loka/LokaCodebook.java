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
 * always sees the base model's states). Each position's token score is a linear function of its standardized
 * states; the router fires at position t once the highest token score so far exceeds {@code threshold} (a
 * max-pooled classifier: the few tokens that name updated knowledge decide, not the template around them). When
 * it fires, the memory whose centroid is nearest to the mean state (last router layer) of the tokens so far is
 * added. Both statistics run over the real tokens up to each position and continue across KV-cache passes, so
 * teacher-forced scoring and cached generation route alike. Where it does not fire the base model computes alone.
 * <p>{@code state} is the trainer's own record (its requests, its LSH buckets), saved and loaded verbatim.
 */
public final class LokaCodebook implements Memory {
    public static final String FILE = "palimpsest_loka.safetensors";

    private final CausalLM net;
    private final int[] routerLayers, memoryLayers;
    private final int rank;
    private final double alpha;
    private final List<List<LoraAdapter>> memories = new ArrayList<>();
    private Tensor routerMean, routerStd, routerWeight, centroids;
    private double routerBias, threshold = Double.POSITIVE_INFINITY;
    private String state = "{}";
    private final List<SiteHooks.Handle> hooks = new ArrayList<>();
    private Integer forced;
    private boolean enabled = true;
    // This pass: the token scores accumulated over the router layers, the mean states, and the route [batch, tokens].
    private final List<Tensor> passStates = new ArrayList<>();
    private Tensor route;
    private final Tensor[] lastKeys;
    // Across KV-cache passes: the running max score [batch], the running state sum [batch, width] and count [batch].
    private Tensor runMax, runSum, runCount;
    private int[] lastRoute = new int[0];

    public LokaCodebook(CausalLM net, int[] routerLayers, int[] memoryLayers, int rank, double alpha) {
        this.net = net;
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
        for (int j = 0; j < routerLayers.length; j++) {
            int jj = j;
            hooks.add(net.sites().add(routerLayers[j], Site.RESID_POST, h -> {
                routerStep(jj, h);
                return h;
            }));
        }
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
     * Sets the router: standardization ({@code mean}, {@code std} over the concatenated router-layer states), the
     * linear token score ({@code weight}, {@code bias}), the firing threshold on it, and one centroid per memory.
     */
    public void setRouter(Tensor mean, Tensor std, Tensor weight, double bias, double threshold, Tensor centroids) {
        if (centroids.size(0) != memories.size()) throw new IllegalArgumentException(centroids.size(0) + " centroids for " + memories.size() + " memories");
        for (Tensor t : new Tensor[] {routerMean, routerStd, routerWeight, this.centroids}) if (t != null) t.releaseReference();
        routerMean = Tensors.retainedCopy(mean);
        routerStd = Tensors.retainedCopy(std);
        routerWeight = Tensors.retainedCopy(weight);
        this.centroids = Tensors.retainedCopy(centroids);
        routerBias = bias;
        this.threshold = threshold;
    }

    /** Token scores of router states [.., tokens, width · router layers] (no mask, no running max). */
    public Tensor tokenScores(Tensor states) {
        return states.toType(ScalarType.Float).sub(routerMean).div(routerStd).matmul(routerWeight).add(Tensors.scalar(routerBias));
    }

    private void routerStep(int j, Tensor h) {
        if (routerWeight == null || forced != null || !enabled || memories.isEmpty()) return;
        try (NoGradGuard g = new NoGradGuard()) {
            if (j == 0) passStates.clear();
            passStates.add(net.sites().keepForPass(h.detach().toType(ScalarType.Float)));
            if (j == routerLayers.length - 1) decide(Tensors.cat(2, passStates), passStates.get(j));
        }
    }

    /** The route of every position of this pass, from the token scores and the mean states so far. */
    private void decide(Tensor states, Tensor x) {
        passStates.clear();
        long b = x.size(0), t = x.size(1);
        Tensor passMask = net.sites().passKeyMask();
        Tensor mask = passMask == null ? Tensors.ones(ScalarType.Float, b, t) : passMask.toType(ScalarType.Float);
        boolean continues = net.sites().passPast() > 0 && runMax != null && runMax.size(0) == b;
        Tensor score = tokenScores(states);
        score = torch.where(mask.gt(Tensors.scalar(0.0)), score, Tensors.scalar(Double.NEGATIVE_INFINITY));
        if (continues) score = torch.cat(Tensors.vector(List.of(runMax.unsqueeze(1), score)), 1);
        Tensor maxSoFar = score.cummax(1).get0();
        if (continues) maxSoFar = Tensors.slice(maxSoFar, 1, 1, t + 1);
        Tensor sum = x.mul(mask.unsqueeze(2)).cumsum(1), count = mask.cumsum(1);
        if (continues) {
            sum = sum.add(runSum.unsqueeze(1));
            count = count.add(runCount.unsqueeze(1));
        }
        Tensor meanState = sum.div(count.clamp_min(Tensors.scalar(1.0)).unsqueeze(2));
        Tensor nearest = torch.cdist(meanState, centroids.unsqueeze(0).expand(b, centroids.size(0), centroids.size(1)).contiguous()).argmin(new org.bytedeco.pytorch.LongOptional(2), false);
        Tensor fire = maxSoFar.gt(Tensors.scalar(threshold));
        route = net.sites().keepForPass(torch.where(fire, nearest, Tensors.scalar(-1L)));
        setRunning(Tensors.slice(maxSoFar, 1, t - 1, t).view(b), Tensors.slice(sum, 1, t - 1, t).view(b, -1),
                Tensors.slice(count, 1, t - 1, t).view(b));
        lastRoute = Arrays.stream(Tensors.toLongs(Tensors.slice(route, 1, t - 1, t).contiguous())).mapToInt(v -> (int) v).toArray();
    }

    private void setRunning(Tensor max, Tensor sum, Tensor count) {
        for (Tensor r : new Tensor[] {runMax, runSum, runCount}) if (r != null) r.releaseReference();
        runMax = Tensors.retainedCopy(max);
        runSum = Tensors.retainedCopy(sum);
        runCount = Tensors.retainedCopy(count);
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
        if (routerWeight == null) throw new IllegalStateException("loka: the codebook has no router yet");
        Map<String, Tensor> t = new LinkedHashMap<>();
        for (int i = 0; i < memories.size(); i++)
            for (int j = 0; j < memoryLayers.length; j++) {
                t.put("memory." + i + ".layer." + memoryLayers[j] + ".A", memories.get(i).get(j).a());
                t.put("memory." + i + ".layer." + memoryLayers[j] + ".B", memories.get(i).get(j).b());
            }
        t.put("router.mean", routerMean);
        t.put("router.std", routerStd);
        t.put("router.weight", routerWeight);
        t.put("router.centroids", centroids);
        SafeTensorsWriter.write(file, t, DType.F32, Map.of("router_layers", join(routerLayers), "memory_layers", join(memoryLayers),
                "rank", String.valueOf(rank), "alpha", String.valueOf(alpha), "memories", String.valueOf(memories.size()),
                "router_bias", String.valueOf(routerBias), "threshold", String.valueOf(threshold), "state", state, "format", "pt"));
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
        double bias, thr;
        try {
            c = new LokaCodebook(net, parse(md.get("router_layers")), parse(md.get("memory_layers")), Integer.parseInt(md.get("rank")),
                    Double.parseDouble(md.get("alpha")));
            n = Integer.parseInt(md.get("memories"));
            bias = Double.parseDouble(md.get("router_bias"));
            thr = Double.parseDouble(md.get("threshold"));
        } catch (RuntimeException e) {
            throw new UserError(file + ": missing or bad metadata (router_layers, memory_layers, rank, alpha, memories, router_bias, threshold)");
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
            c.setRouter(load(f, file, "router.mean"), load(f, file, "router.std"), load(f, file, "router.weight"), bias, thr, load(f, file, "router.centroids"));
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
        for (Tensor r : new Tensor[] {runMax, runSum, runCount}) if (r != null) r.releaseReference();
        runMax = runSum = runCount = null;
    }

    /** Restores this memory when a model directory holding its file loads (found by {@link MemoryReader#all}). */
    public static final class Reader extends MemoryReader.Of {
        public Reader() {
            super(FILE, LokaCodebook::read);
        }
    }
}
