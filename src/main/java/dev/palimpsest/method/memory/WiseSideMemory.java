package dev.palimpsest.method.memory;

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
import dev.palimpsest.model.Memory;
import dev.palimpsest.model.MemoryReader;
import dev.palimpsest.model.SafeTensorsFile;
import dev.palimpsest.model.SafeTensorsWriter;
import dev.palimpsest.model.Site;
import dev.palimpsest.model.SiteHooks;
import dev.palimpsest.tensor.Tensors;

/**
 * WISE's side memories on one layer's MLP down-projection (Wang et al. 2024). Each side memory is a copy W′ of the
 * projection W, kept as its difference ΔW = W′ − W; the main memory W never changes. A side memory's activation at
 * a token is ‖ΔW a‖ for the token's MLP key a, and its routing score at position t is the mean activation over the
 * sequence's real tokens up to t: causal, so teacher-forced scoring and cached generation route alike, and the
 * first answer token is routed on the prompt alone. At each position the memory with the highest score at or above
 * its threshold (its smallest in-scope activation × {@code actRatio}) adds ΔW a to the layer's output; with none
 * there the main memory answers alone, so unrelated inputs compute exactly as without side memories.
 * <p>The last memory is the working one that edits go into; the others are shards saved or merged before it.
 */
public final class WiseSideMemory implements Memory {
    public static final String FILE = "palimpsest_wise.safetensors";

    private final CausalLM net;
    private final int layer;
    private final double actRatio;
    private final long outFeatures, inFeatures;
    private final List<Tensor> deltas = new ArrayList<>();
    private final List<Double> minActs = new ArrayList<>();
    private int edits;
    private final SiteHooks.Handle keyHook, outHook;
    private Tensor lastKeys;
    private Integer forced;
    // Running sums of the scores for passes that continue a KV cache: [memories, batch] and [batch].
    private Tensor sums, counts;
    private int[] lastRoute = new int[0];

    public WiseSideMemory(CausalLM net, int layer, double actRatio) {
        this.net = net;
        this.layer = layer;
        this.actRatio = actRatio;
        Linear down = net.linear(net.downProjection(layer));
        outFeatures = down.outFeatures();
        inFeatures = down.inFeatures();
        keyHook = net.sites().add(layer, Site.MLP_KEY, k -> {
            lastKeys = k;
            return k;
        });
        outHook = net.sites().add(layer, Site.MLP_OUT, this::route);
        addMemory();
    }

    /** Appends an empty working memory (ΔW = 0, no threshold yet, so it never fires). */
    public void addMemory() {
        deltas.add(Tensors.retainedCopy(Tensors.zeros(ScalarType.Float, outFeatures, inFeatures)));
        minActs.add(Double.POSITIVE_INFINITY);
    }

    /** Per-token activations ‖ΔW a‖ of keys [..., F]; differentiable (and finite in its gradient at ΔW = 0). */
    public static Tensor activations(Tensor keys, Tensor delta) {
        return Tensors.sum(keys.toType(ScalarType.Float).matmul(delta.t()).pow(Tensors.scalar(2)), -1)
                .add(Tensors.scalar(1e-12)).sqrt();
    }

    /**
     * Routing scores [.., batch, tokens]: the mean of {@code acts} over the real tokens up to each position, after
     * {@code pastSums} / {@code pastCounts} from earlier passes (null: none).
     */
    public static Tensor prefixMeans(Tensor acts, Tensor mask, Tensor pastSums, Tensor pastCounts) {
        Tensor s = acts.mul(mask).cumsum(-1), c = mask.cumsum(-1);
        if (pastSums != null) {
            s = s.add(pastSums.unsqueeze(-1));
            c = c.add(pastCounts.unsqueeze(-1));
        }
        return s.div(c.clamp_min(Tensors.scalar(1.0)));
    }

    private Tensor route(Tensor out) {
        Tensor keys = lastKeys;
        lastKeys = null;
        if (keys == null) return out;
        if (forced != null) return out.add(keys.matmul(deltas.get(forced).t().toType(Tensors.dtype(keys))).toType(Tensors.dtype(out)));
        long b = keys.size(0), t = keys.size(1);
        List<Integer> live = new ArrayList<>();
        for (int i = 0; i < deltas.size(); i++) if (Double.isFinite(minActs.get(i))) live.add(i);
        if (live.isEmpty()) {
            lastRoute = new int[(int) b];
            Arrays.fill(lastRoute, -1);
            return out;
        }
        try (NoGradGuard g = new NoGradGuard()) {
            Tensor k = keys.detach().toType(ScalarType.Float);
            Tensor passMask = net.sites().passKeyMask();
            Tensor mask = passMask == null ? Tensors.ones(ScalarType.Float, b, t) : passMask.toType(ScalarType.Float);
            boolean continues = net.sites().passPast() > 0 && sums != null && sums.size(0) == live.size() && sums.size(1) == b;
            List<Tensor> outs = new ArrayList<>(), acts = new ArrayList<>();
            float[] thr = new float[live.size()];
            for (int j = 0; j < live.size(); j++) {
                Tensor o = k.matmul(deltas.get(live.get(j)).t());
                outs.add(o);
                acts.add(Tensors.sum(o.pow(Tensors.scalar(2)), -1).sqrt());
                thr[j] = (float) (minActs.get(live.get(j)) * actRatio);
            }
            Tensor a = Tensors.stack(acts); // [S, B, T]
            Tensor pastSums = continues ? sums : null, pastCounts = continues ? counts : null;
            Tensor score = prefixMeans(a, mask, pastSums, pastCounts);
            Tensor newSums = Tensors.sum(a.mul(mask), -1);
            Tensor newCounts = Tensors.sum(mask, -1);
            setRunning(continues ? newSums.add(pastSums) : newSums, continues ? newCounts.add(pastCounts) : newCounts);
            Tensor eligible = score.ge(Tensors.floats(thr, live.size(), 1, 1));
            Tensor masked = torch.where(eligible, score, Tensors.scalar(Double.NEGATIVE_INFINITY));
            var best = masked.max(0, false);
            Tensor hit = eligible.any(0), which = best.get1(); // [B, T]
            long[] lastWhich = Tensors.toLongs(Tensors.slice(which, 1, t - 1, t).contiguous());
            long[] lastHit = Tensors.toLongs(Tensors.slice(hit, 1, t - 1, t).toType(ScalarType.Long).contiguous());
            lastRoute = new int[(int) b];
            for (int i = 0; i < b; i++) lastRoute[i] = lastHit[i] == 1 ? live.get((int) lastWhich[i]) : -1;
            if (Tensors.item(hit.any()) == 0) return out;
            Tensor add = Tensors.zeros(ScalarType.Float, b, t, outFeatures);
            for (int j = 0; j < live.size(); j++) add = add.add(outs.get(j).mul(hit.logical_and(which.eq(Tensors.scalar((long) j))).unsqueeze(2)));
            return out.add(add.toType(Tensors.dtype(out)));
        }
    }

    private void setRunning(Tensor s, Tensor c) {
        if (sums != null) {
            sums.releaseReference();
            counts.releaseReference();
        }
        sums = Tensors.retainedCopy(s);
        counts = Tensors.retainedCopy(c);
    }

    /** Which memory the last forward pass used at each row's last position (-1: the main memory). */
    public int[] lastRoute() {
        return lastRoute.clone();
    }

    /** While set, memory {@code i} (or none, for null) is added at every position, with gradients: for training it. */
    public void force(Integer i) {
        forced = i;
    }

    public int layer() {
        return layer;
    }

    public double actRatio() {
        return actRatio;
    }

    public int size() {
        return deltas.size();
    }

    public int working() {
        return deltas.size() - 1;
    }

    public Tensor delta(int i) {
        return deltas.get(i);
    }

    public double minAct(int i) {
        return minActs.get(i);
    }

    /** Lowers memory {@code i}'s smallest in-scope activation (its threshold is this × act_ratio). */
    public void recordInScope(int i, double activation) {
        minActs.set(i, Math.min(minActs.get(i), activation));
    }

    /** Sets memory {@code i}'s smallest in-scope activation, measured again on its final weights. */
    public void setInScope(int i, double activation) {
        minActs.set(i, activation);
    }

    /** Edits made into these memories so far (sharding counts them across sessions). */
    public int edits() {
        return edits;
    }

    public void countEdit() {
        edits++;
    }

    /** Replaces memories {@code from .. to-1} with one: ΔW {@code merged}, threshold from the smallest of theirs. */
    public void replace(int from, int to, Tensor merged) {
        double min = Double.POSITIVE_INFINITY;
        for (int i = from; i < to; i++) {
            min = Math.min(min, minActs.get(i));
            deltas.get(i).releaseReference();
        }
        deltas.subList(from, to).clear();
        minActs.subList(from, to).clear();
        deltas.add(from, Tensors.retainedCopy(merged));
        minActs.add(from, min);
    }

    @Override
    public String file() {
        return FILE;
    }

    @Override
    public void write(Path file) throws IOException {
        float[] acts = new float[minActs.size()];
        for (int i = 0; i < acts.length; i++) acts[i] = minActs.get(i).floatValue();
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("deltas", Tensors.stack(deltas));
        t.put("min_acts", Tensors.floats(acts, acts.length));
        SafeTensorsWriter.write(file, t, DType.F32, Map.of("layer", String.valueOf(layer), "act_ratio", String.valueOf(actRatio),
                "edits", String.valueOf(edits), "format", "pt"));
    }

    /** Reads the memory from its file, opened by the caller (who closes it). */
    public static WiseSideMemory read(CausalLM net, SafeTensorsFile f) {
        Path file = f.path();
        int layer, edits;
        double ratio;
        try {
            layer = Integer.parseInt(f.metadata().get("layer"));
            edits = Integer.parseInt(f.metadata().get("edits"));
            ratio = Double.parseDouble(f.metadata().get("act_ratio"));
        } catch (NumberFormatException | NullPointerException e) {
            throw new UserError(file + ": missing or bad 'layer', 'edits' or 'act_ratio' in the metadata");
        }
        if (layer < 0 || layer >= net.numLayers()) throw new UserError(file + ": layer " + layer + " is not in the model");
        if (!f.entries().containsKey("deltas") || !f.entries().containsKey("min_acts"))
            throw new UserError(file + ": needs the tensors 'deltas' and 'min_acts'");
        WiseSideMemory s = new WiseSideMemory(net, layer, ratio);
        Tensor d = f.load("deltas", ScalarType.Float);
        float[] acts = Tensors.toFloats(f.load("min_acts", ScalarType.Float));
        if (d.dim() != 3 || d.size(0) != acts.length || d.size(1) != s.outFeatures || d.size(2) != s.inFeatures)
            throw new UserError(file + ": 'deltas' has shape " + Arrays.toString(Tensors.shape(d)) + ", expected [" + acts.length + ", "
                    + s.outFeatures + ", " + s.inFeatures + "]");
        s.deltas.forEach(Tensor::releaseReference);
        s.deltas.clear();
        s.minActs.clear();
        for (int i = 0; i < acts.length; i++) {
            s.deltas.add(Tensors.retainedCopy(d.select(0, i)));
            s.minActs.add((double) acts[i]);
        }
        if (acts.length == 0) s.addMemory();
        s.edits = edits;
        return s;
    }

    @Override
    public void detach() {
        keyHook.close();
        outHook.close();
        deltas.forEach(Tensor::releaseReference);
        deltas.clear();
        if (sums != null) {
            sums.releaseReference();
            counts.releaseReference();
            sums = counts = null;
        }
    }

    /** Restores this memory when a model directory holding its file loads (found by {@link MemoryReader#all}). */
    public static final class Reader extends MemoryReader.Of {
        public Reader() {
            super(FILE, WiseSideMemory::read);
        }
    }
}
