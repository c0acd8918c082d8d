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
 * Llama, Mistral and Qwen2 (transformers' LlamaForCausalLM layout): pre-RMSNorm blocks, rotary
 * positions, grouped-query attention with optional q/k/v (and o) bias, SwiGLU MLP
 * down(silu(gate(x)) · up(x)), optionally tied input and output embeddings.
 */
final class LlamaModel extends CausalLM {
    private final Tensor embed;
    private final Tensor lmHead;
    private final Tensor finalNorm;
    private final Rope rope;
    private final Layer[] layers;
    private Tensor[] cosSin;

    private record Layer(Tensor inputNorm, Linear q, Linear k, Linear v, Linear o, Tensor postNorm, Linear gate,
            Linear up, Linear down) {}

    LlamaModel(ModelConfig config, Map<String, Tensor> params) {
        super(config, params);
        embed = parameter("model.embed_tokens.weight");
        lmHead = config.tieEmbeddings() ? embed : parameter("lm_head.weight");
        finalNorm = parameter("model.norm.weight");
        rope = new Rope(config);
        layers = new Layer[config.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            String p = "model.layers." + i;
            layers[i] = new Layer(parameter(p + ".input_layernorm.weight"),
                    registerLinear(p + ".self_attn.q_proj", false), registerLinear(p + ".self_attn.k_proj", false),
                    registerLinear(p + ".self_attn.v_proj", false), registerLinear(p + ".self_attn.o_proj", false),
                    parameter(p + ".post_attention_layernorm.weight"), registerLinear(p + ".mlp.gate_proj", false),
                    registerLinear(p + ".mlp.up_proj", false), registerLinear(p + ".mlp.down_proj", false));
        }
        if (!config.tieEmbeddings()) registerLmHead();
    }

    private void registerLmHead() {
        registerLinear("lm_head", false);
    }

    static List<ParamSpec> paramSpecs(ModelConfig c) {
        long d = c.hiddenSize(), q = (long) c.numHeads() * c.headDim(), kv = (long) c.numKvHeads() * c.headDim();
        long ff = c.intermediateSize();
        List<ParamSpec> s = new ArrayList<>();
        s.add(ParamSpec.normal("model.embed_tokens.weight", c.vocabSize(), d));
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i;
            s.add(ParamSpec.ones(p + ".input_layernorm.weight", d));
            s.add(ParamSpec.normal(p + ".self_attn.q_proj.weight", q, d));
            if (c.qkvBias()) s.add(ParamSpec.zeros(p + ".self_attn.q_proj.bias", q));
            s.add(ParamSpec.normal(p + ".self_attn.k_proj.weight", kv, d));
            if (c.qkvBias()) s.add(ParamSpec.zeros(p + ".self_attn.k_proj.bias", kv));
            s.add(ParamSpec.normal(p + ".self_attn.v_proj.weight", kv, d));
            if (c.qkvBias()) s.add(ParamSpec.zeros(p + ".self_attn.v_proj.bias", kv));
            s.add(ParamSpec.normal(p + ".self_attn.o_proj.weight", d, q));
            if (c.outputBias()) s.add(ParamSpec.zeros(p + ".self_attn.o_proj.bias", d));
            s.add(ParamSpec.ones(p + ".post_attention_layernorm.weight", d));
            s.add(ParamSpec.normal(p + ".mlp.gate_proj.weight", ff, d));
            if (c.mlpBias()) s.add(ParamSpec.zeros(p + ".mlp.gate_proj.bias", ff));
            s.add(ParamSpec.normal(p + ".mlp.up_proj.weight", ff, d));
            if (c.mlpBias()) s.add(ParamSpec.zeros(p + ".mlp.up_proj.bias", ff));
            s.add(ParamSpec.normal(p + ".mlp.down_proj.weight", d, ff));
            if (c.mlpBias()) s.add(ParamSpec.zeros(p + ".mlp.down_proj.bias", d));
        }
        s.add(ParamSpec.ones("model.norm.weight", d));
        if (!c.tieEmbeddings()) s.add(ParamSpec.normal("lm_head.weight", c.vocabSize(), d));
        return s;
    }

    @Override
    public String downProjection(int layer) {
        return "model.layers." + layer + ".mlp.down_proj";
    }

    @Override
    protected Tensor embed(Tensor ids, Tensor positions) {
        return torch.embedding(embed, ids);
    }

    @Override
    protected void beginPass(Tensor positions) {
        cosSin = rope.cosSin(positions, dtype());
    }

    @Override
    protected Tensor layer(int l, Tensor h, Tensor positions, Tensor mask, KvCache cache) {
        Layer w = layers[l];
        long b = h.size(0), t = h.size(1), hd = config.headDim();
        Tensor x = rmsNorm(h, w.inputNorm);
        Tensor q = w.q.apply(x).view(b, t, config.numHeads(), hd).transpose(1, 2);
        Tensor k = w.k.apply(x).view(b, t, config.numKvHeads(), hd).transpose(1, 2);
        Tensor v = w.v.apply(x).view(b, t, config.numKvHeads(), hd).transpose(1, 2);
        q = Rope.apply(q, cosSin[0], cosSin[1]);
        k = Rope.apply(k, cosSin[0], cosSin[1]);
        Tensor attn = w.o.apply(attend(l, q, k, v, mask, cache, 1.0 / Math.sqrt(hd)));
        attn = sites().apply(l, Site.ATTN_OUT, attn);
        h = h.add(attn);
        Tensor m = sites().apply(l, Site.MLP_IN, rmsNorm(h, w.postNorm));
        Tensor key = sites().apply(l, Site.MLP_KEY, torch.silu(w.gate.apply(m)).mul(w.up.apply(m)));
        Tensor out = sites().apply(l, Site.MLP_OUT, w.down.apply(key));
        return h.add(out);
    }

    @Override
    protected Tensor finalNorm(Tensor h) {
        return rmsNorm(h, finalNorm);
    }

    @Override
    protected Tensor outputHead(Tensor hidden) {
        return config.tieEmbeddings() ? torch.linear(hidden, lmHead) : linear("lm_head").apply(hidden);
    }

    /**
     * transformers' LlamaRMSNorm: w · (x · rsqrt(mean(x²) + ε)), the statistics and the normalisation in
     * fp32 and the result cast back to x's type before the weight multiplies it, as transformers does.
     */
    private Tensor rmsNorm(Tensor x, Tensor weight) {
        ScalarType type = Tensors.dtype(x);
        boolean narrow = type != ScalarType.Float && type != ScalarType.Double;
        Tensor xf = narrow ? x.toType(ScalarType.Float) : x;
        Tensor variance = xf.pow(Tensors.scalar(2)).mean(new long[] {-1}, true, new ScalarTypeOptional());
        Tensor normed = xf.mul(variance.add(Tensors.scalar(config.normEps())).rsqrt());
        return weight.mul(narrow ? normed.toType(type) : normed);
    }
}
