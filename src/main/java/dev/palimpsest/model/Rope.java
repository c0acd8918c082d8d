package dev.palimpsest.model;

import java.util.List;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import dev.palimpsest.tensor.Tensors;

/**
 * Rotary position embedding in the rotate-half layout of transformers' Llama: the head dimension is
 * split in two halves (x1, x2) and rotated as x·cos + (−x2, x1)·sin, with inverse frequencies
 * θ^(−2i/d), optionally rescaled (linear, llama3). Frequencies are computed in fp32 as transformers
 * does (in fp64 for an fp64 model). With a partial rotary factor (Phi, Phi-3, GPT-NeoX, GPT-J) only
 * the first d = rotary dimensions of each head turn; the rest pass through. GPT-J pairs neighbouring
 * dimensions (2i, 2i+1) instead of the two halves (its rotate-every-two).
 */
final class Rope {
    private final double[] invFreq;
    private final Tensor invFreq32;
    private final boolean interleaved;
    // Phi-3's longrope: the frequencies for passes beyond the original context, and the factor on cos and sin.
    private final double[] longInvFreq;
    private final Tensor longInvFreq32;
    private final int originalMax;
    private final double attentionFactor;

    Rope(ModelConfig config) {
        int dim = config.variant() != null ? config.variant().rotaryDim() : config.headDim();
        interleaved = config.variant() != null && config.variant().interleavedRotary();
        invFreq = new double[dim / 2];
        for (int i = 0; i < invFreq.length; i++) {
            float exponent = (float) (2 * i) / dim;
            invFreq[i] = 1.0 / Math.pow(config.ropeTheta(), exponent);
        }
        ModelConfig.RopeScaling rs = config.ropeScaling();
        scale(rs);
        attentionFactor = rs.attentionFactor();
        originalMax = rs.originalMaxPositions();
        if (rs.type().equals("longrope")) {
            longInvFreq = invFreq.clone();
            for (int i = 0; i < invFreq.length; i++) {
                invFreq[i] /= rs.shortFactor()[i];
                longInvFreq[i] /= rs.longFactor()[i];
            }
            longInvFreq32 = floats(longInvFreq);
            longInvFreq32.retainReference();
        } else {
            longInvFreq = null;
            longInvFreq32 = null;
        }
        if (rs.type().equals("default")) {
            // transformers: 1 / base ** (arange(0, d, 2).float() / d), all in fp32
            Tensor exponent = Tensors.arange(dim / 2).mul(Tensors.scalar(2)).toType(ScalarType.Float)
                    .div(Tensors.scalar(dim));
            invFreq32 = torch.pow(Tensors.scalar(config.ropeTheta()), exponent).reciprocal();
        } else {
            invFreq32 = floats(invFreq);
        }
        invFreq32.retainReference();
    }

    private static Tensor floats(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < f.length; i++) f[i] = (float) v[i];
        return Tensors.floats(f);
    }

    private void scale(ModelConfig.RopeScaling s) {
        switch (s.type()) {
            case "linear" -> {
                for (int i = 0; i < invFreq.length; i++) invFreq[i] /= s.factor();
            }
            case "llama3" -> {
                double lowWavelen = s.originalMaxPositions() / s.lowFreqFactor();
                double highWavelen = s.originalMaxPositions() / s.highFreqFactor();
                for (int i = 0; i < invFreq.length; i++) {
                    double wavelen = 2 * Math.PI / invFreq[i];
                    if (wavelen > lowWavelen) {
                        invFreq[i] /= s.factor();
                    } else if (wavelen >= highWavelen) {
                        double smooth = (s.originalMaxPositions() / wavelen - s.lowFreqFactor())
                                / (s.highFreqFactor() - s.lowFreqFactor());
                        invFreq[i] = (1 - smooth) * invFreq[i] / s.factor() + smooth * invFreq[i];
                    }
                }
            }
            default -> { }
        }
    }

    /** cos and sin for the positions [B, T], shaped [B, 1, T, d] in the given dtype. */
    Tensor[] cosSin(Tensor positions, ScalarType dtype) {
        // longrope, as transformers: the long factors once the pass reaches past the original context.
        boolean useLong = longInvFreq != null && Tensors.item(positions.max()) + 1 > originalMax;
        Tensor inv;
        if (dtype == ScalarType.Double) {
            inv = Tensors.doubles(useLong ? longInvFreq : invFreq);
        } else {
            inv = useLong ? longInvFreq32 : invFreq32;
        }
        ScalarType compute = Tensors.dtype(inv);
        Tensor freqs = positions.toType(compute).unsqueeze(-1).mul(inv.view(1, 1, -1)); // [B, T, d/2]
        Tensor emb = interleaved
                ? freqs.repeat_interleave(2, new org.bytedeco.pytorch.LongOptional(-1), new org.bytedeco.pytorch.LongOptional())
                : Tensors.cat(-1, freqs, freqs);
        Tensor cos = emb.cos(), sin = emb.sin();
        if (attentionFactor != 1) {
            cos = cos.mul(Tensors.scalar(attentionFactor));
            sin = sin.mul(Tensors.scalar(attentionFactor));
        }
        return new Tensor[] {cos.toType(dtype).unsqueeze(1), sin.toType(dtype).unsqueeze(1)};
    }

    /** Turns x [B, H, T, d] by the tables {@link #cosSin} made, in this model's pairing of dimensions. */
    Tensor apply(Tensor x, Tensor[] cosSin) {
        if (!interleaved) return apply(x, cosSin[0], cosSin[1]);
        Tensor cos = cosSin[0], sin = cosSin[1];
        long rot = cos.size(-1), d = x.size(-1);
        Tensor part = rot < d ? x.narrow(-1, 0, rot) : x;
        // rotate-every-two: (x0, x1, x2, x3, ...) -> (-x1, x0, -x3, x2, ...)
        Tensor pairs = part.unflatten(-1, new long[] {rot / 2, 2});
        Tensor rotated = torch.stack(Tensors.vector(List.of(pairs.select(-1, 1).neg(), pairs.select(-1, 0))), -1).flatten(-2, -1);
        Tensor turned = part.mul(cos).add(rotated.mul(sin));
        return rot < d ? Tensors.cat(-1, turned, x.narrow(-1, rot, d - rot)) : turned;
    }

    static Tensor apply(Tensor x, Tensor cos, Tensor sin) {
        long rot = cos.size(-1);
        if (rot < x.size(-1)) {
            Tensor turned = apply(x.narrow(-1, 0, rot), cos, sin);
            return Tensors.cat(-1, turned, x.narrow(-1, rot, x.size(-1) - rot));
        }
        long half = x.size(-1) / 2;
        Tensor x1 = x.narrow(-1, 0, half), x2 = x.narrow(-1, half, half);
        Tensor rotated = Tensors.cat(-1, x2.neg(), x1);
        return x.mul(cos).add(rotated.mul(sin));
    }
}
