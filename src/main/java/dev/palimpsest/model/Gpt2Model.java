package dev.palimpsest.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * GPT-2 (transformers' GPT2LMHeadModel): learned positions, pre-LayerNorm blocks, fused qkv Conv1D
 * (weights stored [in, out]), gelu_new MLP, output head tied to the token embedding.
 */
final class Gpt2Model extends CausalLM {
    static final String PREFIX = "transformer.";
    private final Tensor wte;
    private final Tensor wpe;
    private final Tensor lmHead;
    private final Tensor lnfW;
    private final Tensor lnfB;
    private final Layer[] layers;

    private record Layer(Tensor ln1W, Tensor ln1B, Linear cAttn, Linear attnProj, Tensor ln2W, Tensor ln2B,
            Linear cFc, Linear mlpProj) {}

    Gpt2Model(ModelConfig config, Map<String, Tensor> params) {
        super(config, params);
        wte = parameter(PREFIX + "wte.weight");
        wpe = parameter(PREFIX + "wpe.weight");
        lmHead = config.tieEmbeddings() ? wte : parameter("lm_head.weight");
        lnfW = parameter(PREFIX + "ln_f.weight");
        lnfB = parameter(PREFIX + "ln_f.bias");
        layers = new Layer[config.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            String p = PREFIX + "h." + i;
            layers[i] = new Layer(parameter(p + ".ln_1.weight"), parameter(p + ".ln_1.bias"),
                    registerLinear(p + ".attn.c_attn", true), registerLinear(p + ".attn.c_proj", true),
                    parameter(p + ".ln_2.weight"), parameter(p + ".ln_2.bias"), registerLinear(p + ".mlp.c_fc", true),
                    registerLinear(p + ".mlp.c_proj", true));
        }
    }

    static List<ParamSpec> paramSpecs(ModelConfig c) {
        long d = c.hiddenSize(), ff = c.intermediateSize();
        List<ParamSpec> s = new ArrayList<>();
        s.add(ParamSpec.normal(PREFIX + "wte.weight", c.vocabSize(), d));
        s.add(ParamSpec.normal(PREFIX + "wpe.weight", c.maxPositions(), d));
        for (int i = 0; i < c.numLayers(); i++) {
            String p = PREFIX + "h." + i;
            s.add(ParamSpec.ones(p + ".ln_1.weight", d));
            s.add(ParamSpec.zeros(p + ".ln_1.bias", d));
            s.add(ParamSpec.normal(p + ".attn.c_attn.weight", d, 3 * d));
            s.add(ParamSpec.zeros(p + ".attn.c_attn.bias", 3 * d));
            s.add(ParamSpec.normal(p + ".attn.c_proj.weight", d, d));
            s.add(ParamSpec.zeros(p + ".attn.c_proj.bias", d));
            s.add(ParamSpec.ones(p + ".ln_2.weight", d));
            s.add(ParamSpec.zeros(p + ".ln_2.bias", d));
            s.add(ParamSpec.normal(p + ".mlp.c_fc.weight", d, ff));
            s.add(ParamSpec.zeros(p + ".mlp.c_fc.bias", ff));
            s.add(ParamSpec.normal(p + ".mlp.c_proj.weight", ff, d));
            s.add(ParamSpec.zeros(p + ".mlp.c_proj.bias", d));
        }
        s.add(ParamSpec.ones(PREFIX + "ln_f.weight", d));
        s.add(ParamSpec.zeros(PREFIX + "ln_f.bias", d));
        if (!c.tieEmbeddings()) s.add(ParamSpec.normal("lm_head.weight", c.vocabSize(), d));
        return s;
    }

    @Override
    public String downProjection(int layer) {
        return PREFIX + "h." + layer + ".mlp.c_proj";
    }

    @Override
    protected Tensor embed(Tensor ids, Tensor positions) {
        return torch.embedding(wte, ids).add(torch.embedding(wpe, positions));
    }

    @Override
    protected Tensor layer(int l, Tensor h, Tensor positions, Tensor mask, KvCache cache) {
        Layer w = layers[l];
        long b = h.size(0), t = h.size(1), heads = config.numHeads(), hd = config.headDim();
        Tensor x = layerNorm(h, w.ln1W, w.ln1B);
        TensorVector qkv = w.cAttn.apply(x).split(config.hiddenSize(), 2);
        Tensor q = qkv.get(0).view(b, t, heads, hd).transpose(1, 2);
        Tensor k = qkv.get(1).view(b, t, heads, hd).transpose(1, 2);
        Tensor v = qkv.get(2).view(b, t, heads, hd).transpose(1, 2);
        double scale = 1.0 / Math.sqrt(hd);
        if (config.scaleAttnByInverseLayer()) scale /= (l + 1);
        Tensor attn = sites().apply(l, Site.ATTN_OUT, w.attnProj.apply(attend(l, q, k, v, mask, cache, scale)));
        h = h.add(attn);
        Tensor m = sites().apply(l, Site.MLP_IN, layerNorm(h, w.ln2W, w.ln2B));
        Tensor key = sites().apply(l, Site.MLP_KEY, torch.gelu(w.cFc.apply(m), "tanh"));
        Tensor out = sites().apply(l, Site.MLP_OUT, w.mlpProj.apply(key));
        return h.add(out);
    }

    @Override
    protected Tensor finalNorm(Tensor h) {
        return layerNorm(h, lnfW, lnfB);
    }

    @Override
    protected Tensor outputHead(Tensor hidden) {
        return torch.linear(hidden, lmHead);
    }

    private Tensor layerNorm(Tensor x, Tensor w, Tensor b) {
        return torch.layer_norm(x, new long[] {config.hiddenSize()}, new TensorOptional(w), new TensorOptional(b),
                config.normEps(), false);
    }
}
