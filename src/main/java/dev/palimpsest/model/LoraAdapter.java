package dev.palimpsest.model;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import dev.palimpsest.tensor.Tensors;

/**
 * A low-rank adapter: y += (x Aᵀ Bᵀ) · alpha / rank. A starts Kaiming-uniform (bound 1/√in, as PEFT
 * does) and B at zero, so a fresh adapter leaves the model unchanged.
 */
public final class LoraAdapter {
    private final Tensor a;
    private final Tensor b;
    private final double scale;

    public LoraAdapter(Tensor a, Tensor b, double alpha) {
        this.a = a;
        this.b = b;
        this.scale = alpha / a.size(0);
    }

    /** A fresh adapter for a layer with the given shape; its tensors require gradients. */
    public static LoraAdapter create(long in, long out, int rank, double alpha, org.bytedeco.pytorch.global.torch.ScalarType type) {
        if (rank <= 0) throw new IllegalArgumentException("LoRA rank must be positive, got " + rank);
        double bound = 1.0 / Math.sqrt(in);
        Tensor a = torch.rand(new long[] {rank, in}, Tensors.options(type)).mul(Tensors.scalar(2 * bound))
                .sub(Tensors.scalar(bound));
        Tensor b = Tensors.zeros(type, out, rank);
        a.set_requires_grad(true);
        b.set_requires_grad(true);
        a.retainReference();
        b.retainReference();
        return new LoraAdapter(a, b, alpha);
    }

    /** The adapter's term for x, in x's type (the adapter computes in its own, fp32 over a bf16 model). */
    public Tensor apply(Tensor x) {
        org.bytedeco.pytorch.global.torch.ScalarType own = Tensors.dtype(a), in = Tensors.dtype(x);
        Tensor y = torch.linear(torch.linear(in == own ? x : x.toType(own), a), b).mul(Tensors.scalar(scale));
        return in == own ? y : y.toType(in);
    }

    /** The update this adapter adds to an [out, in] weight: scale · B A. */
    public Tensor deltaOutIn() {
        return b.matmul(a).mul(Tensors.scalar(scale));
    }

    public Tensor a() {
        return a;
    }

    public Tensor b() {
        return b;
    }

    public double scale() {
        return scale;
    }

    public int rank() {
        return (int) a.size(0);
    }

    public long inFeatures() {
        return a.size(1);
    }

    public long outFeatures() {
        return b.size(0);
    }
}
