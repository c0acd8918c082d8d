package dev.palimpsest.model;

import java.util.HashMap;
import java.util.Map;

import org.bytedeco.pytorch.Tensor;

import dev.palimpsest.tensor.Tensors;

/**
 * An independent double-precision forward pass, written from the architectures' definitions with plain
 * arrays and loops (no libtorch): RMSNorm, rotate-half RoPE, grouped-query attention, SwiGLU for the
 * Llama family; LayerNorm, learned positions, Conv1D and gelu_new for GPT-2. Tests compare the runtime
 * against it.
 */
public final class ReferenceTransformer {
    private final ModelConfig c;
    private final Map<String, double[]> w = new HashMap<>();

    public ReferenceTransformer(ModelConfig config, Map<String, Tensor> params) {
        this.c = config;
        params.forEach((k, v) -> w.put(k, Tensors.toDoublesExact(v)));
    }

    /** Logits [tokens][vocab] for one unpadded sequence whose first token has position {@code start}. */
    public double[][] logits(long[] ids) {
        return c.family() == Family.LLAMA ? llama(ids) : gpt2(ids);
    }

    /** log-softmax of a logit row. */
    public static double[] logSoftmax(double[] z) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : z) max = Math.max(max, v);
        double s = 0;
        for (double v : z) s += Math.exp(v - max);
        double lse = max + Math.log(s);
        double[] out = new double[z.length];
        for (int i = 0; i < z.length; i++) out[i] = z[i] - lse;
        return out;
    }

    private double[][] llama(long[] ids) {
        int t = ids.length, d = c.hiddenSize();
        double[][] x = embed(ids, "model.embed_tokens.weight");
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l;
            double[][] a = rmsNorm(x, w.get(p + ".input_layernorm.weight"));
            int qd = c.numHeads() * c.headDim(), kvd = c.numKvHeads() * c.headDim();
            double[][] q = linear(a, p + ".self_attn.q_proj", qd, d);
            double[][] k = linear(a, p + ".self_attn.k_proj", kvd, d);
            double[][] v = linear(a, p + ".self_attn.v_proj", kvd, d);
            rope(q, c.numHeads());
            rope(k, c.numKvHeads());
            double[][] att = attention(q, k, v, c.numHeads(), c.numKvHeads(), 1.0 / Math.sqrt(c.headDim()));
            double[][] o = linear(att, p + ".self_attn.o_proj", d, qd);
            add(x, o);
            double[][] m = rmsNorm(x, w.get(p + ".post_attention_layernorm.weight"));
            int ff = c.intermediateSize();
            double[][] g = linear(m, p + ".mlp.gate_proj", ff, d);
            double[][] u = linear(m, p + ".mlp.up_proj", ff, d);
            for (int i = 0; i < t; i++)
                for (int j = 0; j < ff; j++) g[i][j] = g[i][j] / (1 + Math.exp(-g[i][j])) * u[i][j];
            add(x, linear(g, p + ".mlp.down_proj", d, ff));
        }
        x = rmsNorm(x, w.get("model.norm.weight"));
        return head(x, c.tieEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight");
    }

    private double[][] gpt2(long[] ids) {
        int t = ids.length, d = c.hiddenSize();
        double[][] x = embed(ids, "transformer.wte.weight");
        double[] wpe = w.get("transformer.wpe.weight");
        for (int i = 0; i < t; i++) for (int j = 0; j < d; j++) x[i][j] += wpe[i * d + j];
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "transformer.h." + l;
            double[][] a = layerNorm(x, p + ".ln_1");
            double[][] qkv = conv1d(a, p + ".attn.c_attn", d, 3 * d);
            double[][] q = new double[t][d], k = new double[t][d], v = new double[t][d];
            for (int i = 0; i < t; i++) {
                System.arraycopy(qkv[i], 0, q[i], 0, d);
                System.arraycopy(qkv[i], d, k[i], 0, d);
                System.arraycopy(qkv[i], 2 * d, v[i], 0, d);
            }
            double scale = 1.0 / Math.sqrt(c.headDim());
            if (c.scaleAttnByInverseLayer()) scale /= (l + 1);
            add(x, conv1d(attention(q, k, v, c.numHeads(), c.numHeads(), scale), p + ".attn.c_proj", d, d));
            double[][] m = layerNorm(x, p + ".ln_2");
            int ff = c.intermediateSize();
            double[][] h = conv1d(m, p + ".mlp.c_fc", d, ff);
            for (int i = 0; i < t; i++)
                for (int j = 0; j < ff; j++) {
                    double z = h[i][j];
                    h[i][j] = 0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z * z * z)));
                }
            add(x, conv1d(h, p + ".mlp.c_proj", ff, d));
        }
        x = layerNorm(x, "transformer.ln_f");
        return head(x, c.tieEmbeddings() ? "transformer.wte.weight" : "lm_head.weight");
    }

    private double[][] embed(long[] ids, String name) {
        int d = c.hiddenSize();
        double[] e = w.get(name);
        double[][] x = new double[ids.length][d];
        for (int i = 0; i < ids.length; i++) System.arraycopy(e, (int) ids[i] * d, x[i], 0, d);
        return x;
    }

    private double[][] head(double[][] x, String name) {
        double[] e = w.get(name);
        int d = c.hiddenSize(), vocab = c.vocabSize();
        double[][] out = new double[x.length][vocab];
        for (int i = 0; i < x.length; i++)
            for (int v = 0; v < vocab; v++) {
                double s = 0;
                for (int j = 0; j < d; j++) s += x[i][j] * e[v * d + j];
                out[i][v] = s;
            }
        return out;
    }

    private double[][] rmsNorm(double[][] x, double[] g) {
        double[][] out = new double[x.length][];
        for (int i = 0; i < x.length; i++) {
            double ms = 0;
            for (double v : x[i]) ms += v * v;
            ms /= x[i].length;
            double r = 1 / Math.sqrt(ms + c.normEps());
            out[i] = new double[x[i].length];
            for (int j = 0; j < x[i].length; j++) out[i][j] = g[j] * x[i][j] * r;
        }
        return out;
    }

    private double[][] layerNorm(double[][] x, String p) {
        double[] g = w.get(p + ".weight"), b = w.get(p + ".bias");
        double[][] out = new double[x.length][];
        for (int i = 0; i < x.length; i++) {
            int n = x[i].length;
            double mean = 0, var = 0;
            for (double v : x[i]) mean += v;
            mean /= n;
            for (double v : x[i]) var += (v - mean) * (v - mean);
            var /= n;
            out[i] = new double[n];
            for (int j = 0; j < n; j++) out[i][j] = (x[i][j] - mean) / Math.sqrt(var + c.normEps()) * g[j] + b[j];
        }
        return out;
    }

    /** nn.Linear: weight [out, in]. */
    private double[][] linear(double[][] x, String p, int out, int in) {
        double[] wt = w.get(p + ".weight"), b = w.get(p + ".bias");
        double[][] y = new double[x.length][out];
        for (int i = 0; i < x.length; i++)
            for (int o = 0; o < out; o++) {
                double s = b == null ? 0 : b[o];
                for (int j = 0; j < in; j++) s += x[i][j] * wt[o * in + j];
                y[i][o] = s;
            }
        return y;
    }

    /** Conv1D: weight [in, out]. */
    private double[][] conv1d(double[][] x, String p, int in, int out) {
        double[] wt = w.get(p + ".weight"), b = w.get(p + ".bias");
        double[][] y = new double[x.length][out];
        for (int i = 0; i < x.length; i++)
            for (int o = 0; o < out; o++) {
                double s = b[o];
                for (int j = 0; j < in; j++) s += x[i][j] * wt[j * out + o];
                y[i][o] = s;
            }
        return y;
    }

    /** Rotate-half RoPE at positions 0..t-1, in place, for every head. */
    private void rope(double[][] x, int heads) {
        int hd = c.headDim(), half = hd / 2;
        for (int pos = 0; pos < x.length; pos++)
            for (int h = 0; h < heads; h++) {
                int o = h * hd;
                double[] r = new double[hd];
                for (int i = 0; i < half; i++) {
                    double invFreq = Math.pow(c.ropeTheta(), -2.0 * i / hd);
                    double ang = pos * invFreq, cos = Math.cos(ang), sin = Math.sin(ang);
                    double a = x[pos][o + i], b = x[pos][o + half + i];
                    r[i] = a * cos - b * sin;
                    r[half + i] = b * cos + a * sin;
                }
                System.arraycopy(r, 0, x[pos], o, hd);
            }
    }

    /** Causal attention; query head h reads key/value head h / (heads / kvHeads). */
    private double[][] attention(double[][] q, double[][] k, double[][] v, int heads, int kvHeads, double scale) {
        int t = q.length, hd = c.headDim(), groups = heads / kvHeads;
        double[][] out = new double[t][heads * hd];
        for (int h = 0; h < heads; h++) {
            int kh = h / groups;
            for (int i = 0; i < t; i++) {
                double[] s = new double[i + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= i; j++) {
                    double dot = 0;
                    for (int e = 0; e < hd; e++) dot += q[i][h * hd + e] * k[j][kh * hd + e];
                    s[j] = dot * scale;
                    max = Math.max(max, s[j]);
                }
                double z = 0;
                for (int j = 0; j <= i; j++) z += (s[j] = Math.exp(s[j] - max));
                for (int j = 0; j <= i; j++)
                    for (int e = 0; e < hd; e++) out[i][h * hd + e] += s[j] / z * v[j][kh * hd + e];
            }
        }
        return out;
    }

    private static void add(double[][] x, double[][] y) {
        for (int i = 0; i < x.length; i++) for (int j = 0; j < x[i].length; j++) x[i][j] += y[i][j];
    }
}
