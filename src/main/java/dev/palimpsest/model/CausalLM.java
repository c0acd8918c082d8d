package dev.palimpsest.model;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import dev.palimpsest.UserError;
import dev.palimpsest.tensor.Tensors;

/**
 * A decoder-only transformer over a map of named parameters (the checkpoint's names, in its order).
 * Subclasses implement one family's embedding, layer and final norm; this class owns the parameter
 * map, the linear layers, the site hooks and the attention shared by all families.
 */
public abstract class CausalLM {
    protected final ModelConfig config;
    private final Map<String, Tensor> params;
    private final Map<String, Linear> linears = new LinkedHashMap<>();
    private final SiteHooks sites = new SiteHooks();

    protected CausalLM(ModelConfig config, Map<String, Tensor> params) {
        this.config = config;
        this.params = Collections.unmodifiableMap(params);
        // Weights outlive every PointerScope a caller may have open while loading.
        params.values().forEach(Tensor::retainReference);
    }

    /** Builds a model from tensors, checking that every parameter is present with the right shape. */
    public static CausalLM create(ModelConfig config, Map<String, Tensor> tensors, String source) {
        Map<String, Tensor> ordered = new LinkedHashMap<>();
        ScalarType first = null;
        for (ParamSpec spec : specs(config)) {
            Tensor t = tensors.get(spec.name());
            if (t == null) throw new UserError(source + ": missing tensor '" + spec.name() + "'");
            long[] shape = Tensors.shape(t);
            if (!Arrays.equals(shape, spec.shape()))
                throw new UserError(source + ": tensor '" + spec.name() + "' has shape " + Arrays.toString(shape)
                        + ", config.json implies " + Arrays.toString(spec.shape()));
            ScalarType type = Tensors.dtype(t);
            if (type != ScalarType.Float && type != ScalarType.Double && type != ScalarType.BFloat16 && type != ScalarType.Half)
                throw new UserError(source + ": tensor '" + spec.name() + "' is not a floating-point tensor");
            if (first == null) first = type;
            if (type != first)
                throw new UserError(source + ": tensor '" + spec.name() + "' is " + type + " while the others are " + first);
            ordered.put(spec.name(), t);
        }
        return switch (config.family()) {
            case LLAMA -> new LlamaModel(config, ordered);
            case PARALLEL -> new ParallelModel(config, ordered);
            case GPT2 -> new Gpt2Model(config, ordered);
        };
    }

    /** A model with fresh fp32 weights: N(0, std) matrices, unit norm weights, zero biases. Seeded. */
    public static CausalLM random(ModelConfig config, long seed, double std) {
        return random(config, seed, std, ScalarType.Float);
    }

    /** As {@link #random(ModelConfig, long, double)}, the weights of type {@code type} (drawn in it: no fp32 copy). */
    public static CausalLM random(ModelConfig config, long seed, double std, ScalarType type) {
        torch.manual_seed(seed);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (ParamSpec spec : specs(config)) tensors.put(spec.name(), spec.initial(type, std));
        return create(config, tensors, "random weights");
    }

    public static List<ParamSpec> specs(ModelConfig config) {
        return switch (config.family()) {
            case LLAMA -> LlamaModel.paramSpecs(config);
            case PARALLEL -> ParallelModel.paramSpecs(config);
            case GPT2 -> Gpt2Model.paramSpecs(config);
        };
    }

    public ModelConfig config() {
        return config;
    }

    private boolean released;

    /**
     * Frees the weights now rather than when the garbage collector gets to them (a model the size of the
     * machine's memory must be gone before the next one loads). The model is unusable afterwards.
     */
    public synchronized void release() {
        if (released) return;
        released = true;
        params.values().forEach(Tensor::releaseReference);
    }

    /** The parameters by checkpoint name; the tensors are the live weights (edit them in place). */
    public Map<String, Tensor> parameters() {
        return params;
    }

    public Tensor parameter(String name) {
        Tensor t = params.get(name);
        if (t == null) throw new IllegalArgumentException("no parameter " + name);
        return t;
    }

    /** Every linear layer by its checkpoint prefix (e.g. model.layers.0.mlp.down_proj). */
    public Map<String, Linear> linears() {
        return Collections.unmodifiableMap(linears);
    }

    public Linear linear(String name) {
        Linear l = linears.get(name);
        if (l == null) throw new IllegalArgumentException("no linear layer " + name + "; have " + linears.keySet());
        return l;
    }

    public SiteHooks sites() {
        return sites;
    }

    public ScalarType dtype() {
        return Tensors.dtype(params.values().iterator().next());
    }

    public int numLayers() {
        return config.numLayers();
    }

    /** The name of a layer's MLP down-projection, the matrix locate-and-edit methods rewrite. */
    public abstract String downProjection(int layer);

    protected Linear registerLinear(String prefix, boolean storedInOut) {
        Tensor w = parameter(prefix + ".weight");
        Tensor b = params.get(prefix + ".bias");
        Linear l = new Linear(prefix, w, b, storedInOut);
        linears.put(prefix, l);
        return l;
    }

    /** Final hidden states [batch, tokens, width] after the last norm. Appends to {@code cache} if given. */
    public Tensor hidden(ForwardInput in, KvCache cache) {
        Pass pass = pass(in, cache);
        Tensor h = layers(pass, 0, config.numLayers(), embed(in.ids(), pass.positions()), cache);
        h = finalNorm(h);
        if (cache != null) cache.advance(in.ids().size(1), pass.fullMask());
        return h;
    }

    /**
     * The residual stream entering {@code layer} for {@code in} (no gradients), to run the layers from there with
     * {@link #hidden(Prefix)} as often as needed: methods that train something at or above a layer would otherwise
     * run the unchanged layers below it on every step. Hooks below {@code layer} fire once, here.
     */
    public Prefix prefix(ForwardInput in, int layer) {
        return prefix(in, layer, null);
    }

    /** As {@link #prefix(ForwardInput, int)}, for new tokens after the context held in a frozen {@code cache}. */
    public Prefix prefix(ForwardInput in, int layer, KvCache cache) {
        if (layer < 0 || layer >= config.numLayers()) throw new IllegalArgumentException("layer " + layer);
        if (cache != null && !cache.frozen()) throw new IllegalArgumentException("a prefix runs over a frozen cache only");
        try (NoGradGuard g = new NoGradGuard()) {
            Pass pass = pass(in, cache);
            return new Prefix(layer, layers(pass, 0, layer, embed(in.ids(), pass.positions()), cache), pass, cache);
        }
    }

    /** Final hidden states of a prefix's input, running only the layers from its layer up: the same as {@link #hidden} would give. */
    public Tensor hidden(Prefix p) {
        return finalNorm(layers(p.pass, p.layer, config.numLayers(), p.residual, p.cache));
    }

    /** Where a forward pass starts again: the residual stream entering {@code layer}, with what its layers share. */
    public static final class Prefix {
        private final int layer;
        private final Tensor residual;
        private final Pass pass;
        private final KvCache cache;

        private Prefix(int layer, Tensor residual, Pass pass, KvCache cache) {
            this.layer = layer;
            this.residual = residual;
            this.pass = pass;
            this.cache = cache;
        }
    }

    /**
     * What every layer of one pass shares: position ids, the attention mask (and, where layers alternate between a
     * sliding window and the whole context, the global layers' mask), and the key masks (this pass's, and with the cache's).
     */
    private record Pass(Tensor positions, Tensor mask, Tensor globalMask, Tensor keyMask, Tensor fullMask, long past) {
        Tensor maskOf(ModelConfig config, int layer) {
            return config.mixedWindows() && config.windowOf(layer) == null ? globalMask : mask;
        }
    }

    private Pass pass(ForwardInput in, KvCache cache) {
        Tensor ids = in.ids();
        long batch = ids.size(0), tokens = ids.size(1);
        long past = cache == null ? 0 : cache.length();
        config.checkFits(past + tokens, "the input");
        Tensor fullMask = cache != null ? cache.keyMaskWith(in.keyMask(), batch, tokens) : in.keyMask();
        Tensor positions = in.positions();
        if (positions == null) {
            if (fullMask != null) {
                // As transformers does for padded batches: a token's position counts the real tokens before it.
                Tensor p = fullMask.toType(ScalarType.Long).cumsum(1).sub(Tensors.scalar(1)).clamp_min(Tensors.scalar(0));
                positions = Tensors.slice(p, 1, past, past + tokens);
            } else {
                positions = Tensors.arange(tokens).add(Tensors.scalar(past)).view(1, tokens).expand(batch, tokens);
            }
        }
        // Soft-capped scores are computed explicitly, so the causal structure must be a mask there too.
        boolean explicit = softcap() != null;
        Tensor mask = AttentionMask.build(past, tokens, batch, fullMask, config.slidingWindow(), explicit);
        Tensor global = config.mixedWindows() ? AttentionMask.build(past, tokens, batch, fullMask, null, explicit) : null;
        return new Pass(positions, mask, global, in.keyMask(), fullMask, past);
    }

    /** Runs layers [from, to) on the residual stream {@code h}. */
    private Tensor layers(Pass pass, int from, int to, Tensor h, KvCache cache) {
        beginPass(pass.positions());
        PointerScope caller = PointerScope.getInnerScope();
        sites.setOwner(caller);
        sites.setPass(pass.keyMask(), pass.past());
        try {
            for (int l = from; l < to; l++) h = runLayer(l, h, pass.positions(), pass.maskOf(config, l), cache, caller);
        } finally {
            sites.setOwner(null);
            sites.setPass(null, 0);
        }
        return h;
    }

    /**
     * One layer in a scope of its own, so its intermediates are freed as soon as it is done (autograd
     * keeps what backward needs) and the next layer reuses their memory instead of faulting in new pages.
     * Without a caller scope everything is left to the garbage collector, as JavaCPP does by default.
     */
    private Tensor runLayer(int l, Tensor h, Tensor positions, Tensor mask, KvCache cache, PointerScope caller) {
        if (caller == null) return layerWithSites(l, h, positions, mask, cache);
        try (PointerScope scope = new PointerScope()) {
            Tensor out = layerWithSites(l, h, positions, mask, cache);
            caller.attach(out);
            return out;
        }
    }

    private Tensor layerWithSites(int l, Tensor h, Tensor positions, Tensor mask, KvCache cache) {
        h = sites.apply(l, Site.RESID_PRE, h);
        h = layer(l, h, positions, mask, cache);
        return sites.apply(l, Site.RESID_POST, h);
    }

    /**
     * Vocabulary logits for hidden states of any leading shape, in fp32 whatever the weights' type:
     * softmax, log-probabilities, losses and metrics are computed from them in full precision.
     */
    public final Tensor logits(Tensor hidden) {
        Tensor z = outputHead(hidden);
        return Tensors.dtype(z) == ScalarType.Float || Tensors.dtype(z) == ScalarType.Double ? z : z.toType(ScalarType.Float);
    }

    /**
     * Vocabulary logits in the weights' type, what {@code torch.autocast} gives a PyTorch user: for callers that
     * keep every position's logits and upcast only what they use (the throughput benchmark; the methods gather
     * the positions they score first and take {@link #logits}).
     */
    public final Tensor headLogits(Tensor hidden) {
        return outputHead(hidden);
    }

    /** The output head's logits in the weights' type. */
    protected abstract Tensor outputHead(Tensor hidden);

    public Tensor forward(ForwardInput in, KvCache cache) {
        return logits(hidden(in, cache));
    }

    /** Logits [batch, tokens, vocab] of an unpadded batch of ids. */
    public Tensor forward(Tensor ids) {
        return forward(ForwardInput.of(ids), null);
    }

    protected abstract Tensor embed(Tensor ids, Tensor positions);

    /** Called before the layers of a pass run, with its position ids: what every layer derives from them (rotary tables). */
    protected void beginPass(Tensor positions) {}

    protected abstract Tensor layer(int layer, Tensor h, Tensor positions, Tensor mask, KvCache cache);

    protected abstract Tensor finalNorm(Tensor h);

    /**
     * Scaled-dot-product attention of q [B, H, T, d] over k, v [B, Hkv, T, d] (plus what the cache
     * holds), grouped-query when Hkv &lt; H. Returns [B, T, H·d].
     */
    protected Tensor attend(int layer, Tensor q, Tensor k, Tensor v, Tensor mask, KvCache cache, double scale) {
        if (cache != null && cache.frozen()) return attendFrozen(cache.cached(layer), q, k, v, mask, scale);
        if (softcap() != null) return attendCapped(q, k, v, mask, cache, layer, scale, softcap());
        boolean causal = mask == null && (cache == null || cache.length() == 0);
        if (cache != null) {
            Tensor[] kv = cache.append(layer, k, v);
            k = kv[0];
            v = kv[1];
        }
        int groups = config.numHeads() / config.numKvHeads();
        if (groups > 1) {
            k = k.repeat_interleave(groups, new org.bytedeco.pytorch.LongOptional(1), new org.bytedeco.pytorch.LongOptional());
            v = v.repeat_interleave(groups, new org.bytedeco.pytorch.LongOptional(1), new org.bytedeco.pytorch.LongOptional());
        }
        // libtorch's CPU attention kernel is ~13x slower in bf16 than in fp32 (measured: 1.7 vs 22 GFLOPS on a
        // 16x12x128x64 causal product), so narrow types attend in fp32 there: softmax in full precision as a bonus.
        // (A GPU's fused kernels take bf16 and keep the softmax in fp32 themselves.)
        ScalarType type = Tensors.dtype(q);
        boolean narrow = (type == ScalarType.BFloat16 || type == ScalarType.Half) && q.device().is_cpu();
        if (narrow) {
            q = q.toType(ScalarType.Float);
            k = k.toType(ScalarType.Float);
            v = v.toType(ScalarType.Float);
        }
        Tensor out = torch.scaled_dot_product_attention(q, k, v,
                mask == null ? new TensorOptional() : new TensorOptional(mask), 0.0, causal,
                new DoubleOptional(scale), false);
        if (narrow) out = out.toType(type);
        long b = q.size(0), t = q.size(2);
        return out.transpose(1, 2).reshape(b, t, q.size(1) * q.size(3));
    }

    /** cap · tanh(x / cap): Gemma 2's soft-capping of attention scores and logits. */
    protected static Tensor softcapped(Tensor x, double cap) {
        return x.div(Tensors.scalar(cap)).tanh().mul(Tensors.scalar(cap));
    }

    /**
     * Scores [b, hkv, g·t, keys] of grouped queries (g per key-value head) with the pass's boolean mask [b, 1, t, keys]
     * applied: -inf where a query must not see a key. Without a mask only one new token may be attending (it sees all).
     */
    private static Tensor masked(Tensor scores, Tensor mask, long g, long t) {
        if (mask == null) {
            if (t > 1) throw new IllegalStateException("explicit attention over more than one new token needs the pass's mask");
            return scores;
        }
        long b = scores.size(0), hkv = scores.size(1), keys = scores.size(3);
        Tensor m = mask.view(b, 1, 1, t, keys).expand(b, hkv, g, t, keys).reshape(b, hkv, g * t, keys);
        return scores.masked_fill(m.logical_not(), Tensors.scalar(Double.NEGATIVE_INFINITY));
    }

    /** Gemma 2's soft-capping of attention scores (cap·tanh(s/cap)), or null. */
    private Double softcap() {
        return config.variant() == null ? null : config.variant().attnSoftcap();
    }

    /**
     * Attention with soft-capped scores (Gemma 2), which the fused kernel cannot do: scores in fp32, capped,
     * masked (the pass's mask is explicit whenever capping is on; one new token over a cache needs none), softmaxed.
     */
    private Tensor attendCapped(Tensor q, Tensor k, Tensor v, Tensor mask, KvCache cache, int layer, double scale, double cap) {
        if (cache != null) {
            Tensor[] kv = cache.append(layer, k, v);
            k = kv[0];
            v = kv[1];
        }
        ScalarType type = Tensors.dtype(q);
        long b = q.size(0), h = q.size(1), t = q.size(2), d = q.size(3), hkv = k.size(1), g = h / hkv;
        Tensor qf = q.toType(ScalarType.Float).reshape(b, hkv, g * t, d);
        Tensor scores = softcapped(qf.matmul(k.toType(ScalarType.Float).transpose(2, 3)).mul(Tensors.scalar(scale)), cap);
        Tensor out = masked(scores, mask, g, t).softmax(-1).matmul(v.toType(ScalarType.Float)).view(b, h, t, d).toType(type);
        return out.transpose(1, 2).reshape(b, t, h * d);
    }

    /**
     * Attention of new tokens over a frozen cache and themselves, without concatenating the cache: the scores over the
     * cached keys and over the new keys are softmaxed together and the two value sums added. An optimisation that runs
     * a few tokens after a long fixed context on every step would otherwise copy the whole cache (and allocate its
     * gradient) per layer per step. Grouped queries are folded onto their key-value head rather than the keys repeated.
     * Computed in fp32 (the mask is the pass's boolean mask over cached + new keys).
     */
    private Tensor attendFrozen(Tensor[] cached, Tensor q, Tensor k, Tensor v, Tensor mask, double scale) {
        ScalarType type = Tensors.dtype(q);
        long b = q.size(0), h = q.size(1), t = q.size(2), d = q.size(3), hkv = k.size(1), g = h / hkv;
        Tensor qf = q.toType(ScalarType.Float).reshape(b, hkv, g * t, d);
        Tensor kc = cached[0].toType(ScalarType.Float), vc = cached[1].toType(ScalarType.Float);
        Tensor kn = k.toType(ScalarType.Float), vn = v.toType(ScalarType.Float);
        long past = kc.size(2);
        Tensor scores = Tensors.cat(-1, qf.matmul(kc.transpose(2, 3)), qf.matmul(kn.transpose(2, 3))).mul(Tensors.scalar(scale));
        if (softcap() != null) scores = softcapped(scores, softcap());
        Tensor p = masked(scores, mask, g, t).softmax(-1);
        Tensor out = Tensors.slice(p, 3, 0, past).matmul(vc).add(Tensors.slice(p, 3, past, past + t).matmul(vn));
        out = out.view(b, h, t, d).toType(type);
        return out.transpose(1, 2).reshape(b, t, h * d);
    }
}
