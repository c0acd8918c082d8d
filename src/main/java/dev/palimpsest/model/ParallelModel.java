package dev.palimpsest.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * The families whose attention and MLP read the same LayerNorm'd stream side by side and add both to it:
 * Phi (phi-1.5, phi-2: biases everywhere, partial rotary, gelu_new, a biased output head), GPT-NeoX / Pythia
 * (one fused per-head query_key_value, partial rotary, a second LayerNorm for the MLP, exact gelu; with
 * {@code use_parallel_residual: false} the MLP reads the stream after attention instead) and GPT-J
 * (interleaved rotary on {@code rotary_dim}, bias-free attention, gelu_new, a biased output head).
 */
final class ParallelModel extends CausalLM {
    /** Where each family keeps its tensors. */
    enum Kind {
        PHI("model.embed_tokens.weight", "model.layers.", "input_layernorm", null, "self_attn.", "dense", "mlp.fc1", "mlp.fc2",
                "model.final_layernorm", "lm_head", true, true),
        NEOX("gpt_neox.embed_in.weight", "gpt_neox.layers.", "input_layernorm", "post_attention_layernorm", "attention.", "dense",
                "mlp.dense_h_to_4h", "mlp.dense_4h_to_h", "gpt_neox.final_layer_norm", "embed_out", true, false),
        GPTJ("transformer.wte.weight", "transformer.h.", "ln_1", null, "attn.", "out_proj", "mlp.fc_in", "mlp.fc_out",
                "transformer.ln_f", "lm_head", false, true);

        final String embed, layers, norm1, norm2, attn, out, fc1, fc2, finalNorm, head;
        final boolean attnBias, headBias;

        Kind(String embed, String layers, String norm1, String norm2, String attn, String out, String fc1, String fc2,
                String finalNorm, String head, boolean attnBias, boolean headBias) {
            this.embed = embed;
            this.layers = layers;
            this.norm1 = norm1;
            this.norm2 = norm2;
            this.attn = attn;
            this.out = out;
            this.fc1 = fc1;
            this.fc2 = fc2;
            this.finalNorm = finalNorm;
            this.head = head;
            this.attnBias = attnBias;
            this.headBias = headBias;
        }

        static Kind of(ModelConfig c) {
            return switch (c.architecture()) {
                case "PhiForCausalLM", "phi" -> PHI;
                case "GPTNeoXForCausalLM", "gpt_neox" -> NEOX;
                case "GPTJForCausalLM", "gptj" -> GPTJ;
                default -> throw new IllegalArgumentException(c.architecture());
            };
        }
    }

    private final Kind kind;
    private final ModelConfig.Variant variant;
    private final Tensor embed, lmHead, headBias, finalW, finalB;
    private final Rope rope;
    private final Layer[] layers;
    private Tensor[] cosSin;

    /** One layer: norms (the second only for NeoX), q/k/v (or NeoX's fused qkv), the attention's output, the MLP. */
    private record Layer(Tensor n1W, Tensor n1B, Tensor n2W, Tensor n2B, Linear q, Linear k, Linear v, Linear qkv, Linear o,
            Linear fc1, Linear fc2) {}

    ParallelModel(ModelConfig config, Map<String, Tensor> params) {
        super(config, params);
        kind = Kind.of(config);
        variant = config.variant();
        embed = parameter(kind.embed);
        lmHead = config.tieEmbeddings() ? embed : parameter(kind.head + ".weight");
        headBias = kind.headBias ? parameter(kind.head + ".bias") : null;
        finalW = parameter(kind.finalNorm + ".weight");
        finalB = parameter(kind.finalNorm + ".bias");
        rope = new Rope(config);
        layers = new Layer[config.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            String p = kind.layers + i + ".", a = p + kind.attn;
            boolean fused = kind == Kind.NEOX;
            layers[i] = new Layer(parameter(p + kind.norm1 + ".weight"), parameter(p + kind.norm1 + ".bias"),
                    kind.norm2 == null ? null : parameter(p + kind.norm2 + ".weight"), kind.norm2 == null ? null : parameter(p + kind.norm2 + ".bias"),
                    fused ? null : registerLinear(a + "q_proj", false), fused ? null : registerLinear(a + "k_proj", false),
                    fused ? null : registerLinear(a + "v_proj", false), fused ? registerLinear(a + "query_key_value", false) : null,
                    registerLinear(a + kind.out, false), registerLinear(p + kind.fc1, false), registerLinear(p + kind.fc2, false));
        }
        if (!config.tieEmbeddings()) registerLinear(kind.head, false);
    }

    static List<ParamSpec> paramSpecs(ModelConfig c) {
        Kind kind = Kind.of(c);
        long d = c.hiddenSize(), ff = c.intermediateSize(), q = (long) c.numHeads() * c.headDim(), kv = (long) c.numKvHeads() * c.headDim();
        boolean bias = kind.attnBias && c.qkvBias();
        List<ParamSpec> s = new ArrayList<>();
        s.add(ParamSpec.normal(kind.embed, c.vocabSize(), d));
        for (int i = 0; i < c.numLayers(); i++) {
            String p = kind.layers + i + ".", a = p + kind.attn;
            s.add(ParamSpec.ones(p + kind.norm1 + ".weight", d));
            s.add(ParamSpec.zeros(p + kind.norm1 + ".bias", d));
            if (kind.norm2 != null) {
                s.add(ParamSpec.ones(p + kind.norm2 + ".weight", d));
                s.add(ParamSpec.zeros(p + kind.norm2 + ".bias", d));
            }
            if (kind == Kind.NEOX) {
                ParamSpec.linear(s, a + "query_key_value", 3 * q, d, bias);
            } else {
                ParamSpec.linear(s, a + "q_proj", q, d, bias);
                ParamSpec.linear(s, a + "k_proj", kv, d, bias);
                ParamSpec.linear(s, a + "v_proj", kv, d, bias);
            }
            ParamSpec.linear(s, a + kind.out, d, q, bias);
            ParamSpec.linear(s, p + kind.fc1, ff, d, true);
            ParamSpec.linear(s, p + kind.fc2, d, ff, true);
        }
        s.add(ParamSpec.ones(kind.finalNorm + ".weight", d));
        s.add(ParamSpec.zeros(kind.finalNorm + ".bias", d));
        if (!c.tieEmbeddings()) s.add(ParamSpec.normal(kind.head + ".weight", c.vocabSize(), d));
        if (kind.headBias) s.add(ParamSpec.zeros(kind.head + ".bias", c.vocabSize()));
        return s;
    }

    @Override
    public String downProjection(int layer) {
        return kind.layers + layer + "." + kind.fc2;
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
        long b = h.size(0), t = h.size(1), hd = config.headDim(), heads = config.numHeads(), kvHeads = config.numKvHeads();
        Tensor x = layerNorm(h, w.n1W, w.n1B);
        Tensor q, k, v;
        if (w.qkv != null) {
            // NeoX packs each head's q, k and v next to each other: [b, t, heads, 3 · head_dim].
            Tensor qkv = w.qkv.apply(x).view(b, t, heads, 3 * hd).transpose(1, 2);
            q = qkv.narrow(-1, 0, hd);
            k = qkv.narrow(-1, hd, hd);
            v = qkv.narrow(-1, 2 * hd, hd);
        } else {
            q = w.q.apply(x).view(b, t, heads, hd).transpose(1, 2);
            k = w.k.apply(x).view(b, t, kvHeads, hd).transpose(1, 2);
            v = w.v.apply(x).view(b, t, kvHeads, hd).transpose(1, 2);
        }
        q = rope.apply(q, cosSin);
        k = rope.apply(k, cosSin);
        Tensor attn = sites().apply(l, Site.ATTN_OUT, w.o.apply(attend(l, q, k, v, mask, cache, 1.0 / Math.sqrt(hd))));
        Tensor mlpIn;
        if (kind == Kind.NEOX && !variant.parallelResidual()) {
            h = h.add(attn);
            mlpIn = layerNorm(h, w.n2W, w.n2B);
        } else {
            mlpIn = w.n2W != null ? layerNorm(h, w.n2W, w.n2B) : x;
            h = h.add(attn);
        }
        Tensor m = sites().apply(l, Site.MLP_IN, mlpIn);
        Tensor pre = w.fc1.apply(m);
        Tensor key = sites().apply(l, Site.MLP_KEY, variant.exactGelu() ? torch.gelu(pre) : torch.gelu(pre, "tanh"));
        Tensor out = sites().apply(l, Site.MLP_OUT, w.fc2.apply(key));
        return h.add(out);
    }

    @Override
    protected Tensor finalNorm(Tensor h) {
        return layerNorm(h, finalW, finalB);
    }

    @Override
    protected Tensor outputHead(Tensor hidden) {
        if (!config.tieEmbeddings()) return linear(kind.head).apply(hidden);
        return headBias == null ? torch.linear(hidden, lmHead) : torch.linear(hidden, lmHead, new TensorOptional(headBias));
    }

    private Tensor layerNorm(Tensor x, Tensor w, Tensor b) {
        return torch.layer_norm(x, new long[] {config.hiddenSize()}, new TensorOptional(w), new TensorOptional(b), config.normEps(), false);
    }
}
