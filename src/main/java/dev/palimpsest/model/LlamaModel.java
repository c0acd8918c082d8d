package dev.palimpsest.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import dev.palimpsest.tensor.Tensors;

/**
 * The Llama layout (transformers' LlamaForCausalLM) and the families that vary it: pre-RMSNorm blocks,
 * rotary positions, grouped-query attention with optional q/k/v (and o) bias, gated MLP
 * down(act(gate(x)) · up(x)), optionally tied input and output embeddings. Llama, Mistral and Qwen2
 * are the plain layout; Qwen3, Gemma, Gemma 2 and Phi-3 depart from it as {@link ModelConfig.Variant} says.
 */
final class LlamaModel extends CausalLM {
    private final ModelConfig.Variant variant;
    private final Tensor embed;
    private final Tensor lmHead;
    private final Tensor finalNorm;
    private final Rope rope;
    private final Layer[] layers;
    private final double embedScale;
    private Tensor[] cosSin;

    /** One layer's weights; q and k are null with fused qkv (Phi-3), gate with fused gate_up; norms null where absent. */
    private record Layer(Tensor inputNorm, Linear q, Linear k, Linear v, Linear qkv, Tensor qNorm, Tensor kNorm, Linear o,
            Tensor postNorm, Tensor preFfNorm, Tensor postFfNorm, Linear gate, Linear up, Linear gateUp, Linear down) {}

    LlamaModel(ModelConfig config, Map<String, Tensor> params) {
        super(config, params);
        variant = config.variant();
        embed = parameter("model.embed_tokens.weight");
        lmHead = config.tieEmbeddings() ? embed : parameter("lm_head.weight");
        finalNorm = parameter("model.norm.weight");
        rope = new Rope(config);
        layers = new Layer[config.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            String p = "model.layers." + i, a = p + ".self_attn", m = p + ".mlp";
            boolean fused = variant.fused();
            layers[i] = new Layer(parameter(p + ".input_layernorm.weight"),
                    fused ? null : registerLinear(a + ".q_proj", false), fused ? null : registerLinear(a + ".k_proj", false),
                    fused ? null : registerLinear(a + ".v_proj", false), fused ? registerLinear(a + ".qkv_proj", false) : null,
                    variant.qkNorm() ? parameter(a + ".q_norm.weight") : null, variant.qkNorm() ? parameter(a + ".k_norm.weight") : null,
                    registerLinear(a + ".o_proj", false), parameter(p + ".post_attention_layernorm.weight"),
                    variant.sandwichNorms() ? parameter(p + ".pre_feedforward_layernorm.weight") : null,
                    variant.sandwichNorms() ? parameter(p + ".post_feedforward_layernorm.weight") : null,
                    fused ? null : registerLinear(m + ".gate_proj", false), fused ? null : registerLinear(m + ".up_proj", false),
                    fused ? registerLinear(m + ".gate_up_proj", false) : null, registerLinear(m + ".down_proj", false));
        }
        if (!config.tieEmbeddings()) registerLmHead();
        // Gemma: transformers multiplies by √hidden held in the activations' type (bf16 rounds √3072 to 55.5).
        embedScale = variant.scaleEmbeddings() ? roundedTo(Math.sqrt(config.hiddenSize()), dtype()) : 1;
    }

    private static double roundedTo(double v, ScalarType type) {
        return Tensors.item(Tensors.floats(new float[] {(float) v}).toType(type));
    }

    private void registerLmHead() {
        registerLinear("lm_head", false);
    }

    static List<ParamSpec> paramSpecs(ModelConfig c) {
        long d = c.hiddenSize(), q = (long) c.numHeads() * c.headDim(), kv = (long) c.numKvHeads() * c.headDim();
        long ff = c.intermediateSize(), hd = c.headDim();
        ModelConfig.Variant v = c.variant();
        // A norm's identity: weight one, or zero where the norm scales by (1 + w) (Gemma).
        java.util.function.Function<String, ParamSpec> norm = n -> v.normOffset() != 0 ? ParamSpec.zeros(n, d) : ParamSpec.ones(n, d);
        List<ParamSpec> s = new ArrayList<>();
        s.add(ParamSpec.normal("model.embed_tokens.weight", c.vocabSize(), d));
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i;
            s.add(norm.apply(p + ".input_layernorm.weight"));
            if (v.fused()) {
                ParamSpec.linear(s, p + ".self_attn.qkv_proj", q + 2 * kv, d, false);
            } else {
                ParamSpec.linear(s, p + ".self_attn.q_proj", q, d, c.qkvBias());
                ParamSpec.linear(s, p + ".self_attn.k_proj", kv, d, c.qkvBias());
                ParamSpec.linear(s, p + ".self_attn.v_proj", kv, d, c.qkvBias());
            }
            if (v.qkNorm()) {
                s.add(ParamSpec.ones(p + ".self_attn.q_norm.weight", hd));
                s.add(ParamSpec.ones(p + ".self_attn.k_norm.weight", hd));
            }
            ParamSpec.linear(s, p + ".self_attn.o_proj", d, q, c.outputBias());
            s.add(norm.apply(p + ".post_attention_layernorm.weight"));
            if (v.sandwichNorms()) {
                s.add(norm.apply(p + ".pre_feedforward_layernorm.weight"));
                s.add(norm.apply(p + ".post_feedforward_layernorm.weight"));
            }
            if (v.fused()) {
                ParamSpec.linear(s, p + ".mlp.gate_up_proj", 2 * ff, d, false);
            } else {
                ParamSpec.linear(s, p + ".mlp.gate_proj", ff, d, c.mlpBias());
                ParamSpec.linear(s, p + ".mlp.up_proj", ff, d, c.mlpBias());
            }
            ParamSpec.linear(s, p + ".mlp.down_proj", d, ff, c.mlpBias());
        }
        s.add(norm.apply("model.norm.weight"));
        if (!c.tieEmbeddings()) s.add(ParamSpec.normal("lm_head.weight", c.vocabSize(), d));
        return s;
    }

    @Override
    public String downProjection(int layer) {
        return "model.layers." + layer + ".mlp.down_proj";
    }

    @Override
    protected Tensor embed(Tensor ids, Tensor positions) {
        Tensor e = torch.embedding(embed, ids);
        return embedScale == 1 ? e : e.mul(Tensors.scalar(embedScale));
    }

    @Override
    protected void beginPass(Tensor positions) {
        cosSin = rope.cosSin(positions, dtype());
    }

    @Override
    protected Tensor layer(int l, Tensor h, Tensor positions, Tensor mask, KvCache cache) {
        Layer w = layers[l];
        long b = h.size(0), t = h.size(1), hd = config.headDim(), nq = config.numHeads() * hd, nkv = config.numKvHeads() * hd;
        Tensor x = rmsNorm(h, w.inputNorm);
        Tensor qx, kx, vx;
        if (w.qkv != null) {
            Tensor qkv = w.qkv.apply(x);
            qx = qkv.narrow(-1, 0, nq);
            kx = qkv.narrow(-1, nq, nkv);
            vx = qkv.narrow(-1, nq + nkv, nkv);
        } else {
            qx = w.q.apply(x);
            kx = w.k.apply(x);
            vx = w.v.apply(x);
        }
        Tensor q = qx.reshape(b, t, config.numHeads(), hd), k = kx.reshape(b, t, config.numKvHeads(), hd);
        if (w.qNorm != null) {
            q = rmsNorm(q, w.qNorm);
            k = rmsNorm(k, w.kNorm);
        }
        q = Rope.apply(q.transpose(1, 2), cosSin[0], cosSin[1]);
        k = Rope.apply(k.transpose(1, 2), cosSin[0], cosSin[1]);
        Tensor v = vx.reshape(b, t, config.numKvHeads(), hd).transpose(1, 2);
        double scale = variant.queryScale() != null ? variant.queryScale() : 1.0 / Math.sqrt(hd);
        Tensor attn = w.o.apply(attend(l, q, k, v, mask, cache, scale));
        if (w.postFfNorm != null) attn = rmsNorm(attn, w.postNorm); // Gemma 2 normalises the attention output itself
        attn = sites().apply(l, Site.ATTN_OUT, attn);
        h = h.add(attn);
        Tensor m = sites().apply(l, Site.MLP_IN, rmsNorm(h, w.preFfNorm != null ? w.preFfNorm : w.postNorm));
        Tensor gate, up;
        if (w.gateUp != null) {
            Tensor gu = w.gateUp.apply(m);
            long ff = gu.size(-1) / 2;
            gate = gu.narrow(-1, 0, ff);
            up = gu.narrow(-1, ff, ff);
        } else {
            gate = w.gate.apply(m);
            up = w.up.apply(m);
        }
        Tensor act = variant.gelu() ? torch.gelu(gate, "tanh") : torch.silu(gate);
        Tensor key = sites().apply(l, Site.MLP_KEY, act.mul(up));
        // The values site is the down-projection's output, what locate-and-edit solves for (Gemma 2 normalises it after).
        Tensor out = sites().apply(l, Site.MLP_OUT, w.down.apply(key));
        if (w.postFfNorm != null) out = rmsNorm(out, w.postFfNorm);
        return h.add(out);
    }

    @Override
    protected Tensor finalNorm(Tensor h) {
        return rmsNorm(h, finalNorm);
    }

    @Override
    protected Tensor outputHead(Tensor hidden) {
        Tensor z = config.tieEmbeddings() ? torch.linear(hidden, lmHead) : linear("lm_head").apply(hidden);
        Double cap = variant.finalSoftcap();
        return cap == null ? z : softcapped(z, cap);
    }

    /**
     * transformers' LlamaRMSNorm: w · (x · rsqrt(mean(x²) + ε)), the statistics and the normalisation in
     * fp32 and the result cast back to x's type before the weight multiplies it, as transformers does.
     * Gemma's norm scales by (1 + w) in fp32 and casts after (GemmaRMSNorm's order).
     */
    private Tensor rmsNorm(Tensor x, Tensor weight) {
        ScalarType type = Tensors.dtype(x);
        boolean narrow = type != ScalarType.Float && type != ScalarType.Double;
        Tensor xf = narrow ? x.toType(ScalarType.Float) : x;
        Tensor variance = xf.pow(Tensors.scalar(2)).mean(new long[] {-1}, true, new ScalarTypeOptional());
        Tensor normed = xf.mul(variance.add(Tensors.scalar(config.normEps())).rsqrt());
        if (variant.normOffset() != 0) {
            Tensor scaled = normed.mul(weight.toType(Tensors.dtype(normed)).add(Tensors.scalar(variant.normOffset())));
            return narrow ? scaled.toType(type) : scaled;
        }
        return weight.mul(narrow ? normed.toType(type) : normed);
    }
}
