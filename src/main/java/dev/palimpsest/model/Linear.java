package dev.palimpsest.model;

import dev.palimpsest.tensor.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * A linear layer over tensors that the model's parameter map owns. Llama-family weights are stored
 * [out, in] (nn.Linear); GPT-2's Conv1D stores them [in, out]. An optional LoRA adapter adds its
 * low-rank term without touching the weight until it is merged.
 */
public final class Linear {
    private final String name;
    private final Tensor weight;
    private final Tensor bias;
    private final boolean storedInOut;
    private LoraAdapter adapter;

    public Linear(String name, Tensor weight, Tensor bias, boolean storedInOut) {
        this.name = name;
        this.weight = weight;
        this.bias = bias;
        this.storedInOut = storedInOut;
    }

    public Tensor apply(Tensor x) {
        Tensor y;
        if (storedInOut) {
            // The order of operations of transformers' Conv1D: addmm on a 2-D view.
            Tensor flat = x.reshape(-1, x.size(-1));
            Tensor out = bias != null ? torch.addmm(bias, flat, weight) : flat.matmul(weight);
            long[] shape = dev.palimpsest.tensor.Tensors.shape(x);
            shape[shape.length - 1] = outFeatures();
            y = out.view(shape);
        } else {
            y = bias != null ? torch.linear(x, weight, new TensorOptional(bias)) : torch.linear(x, weight);
        }
        return adapter == null ? y : y.add(adapter.apply(x));
    }

    /** The layer applied in fp32 whatever its weights' type, for the closed-form solves of editors. */
    public Tensor applyFp32(Tensor x) {
        try (var guard = new org.bytedeco.pytorch.NoGradGuard()) {
            Tensor w = weight.toType(ScalarType.Float);
            Tensor xf = x.toType(ScalarType.Float);
            Tensor y = storedInOut ? xf.matmul(w) : torch.linear(xf, w);
            return bias == null ? y : y.add(bias.toType(ScalarType.Float));
        }
    }

    /** Adds an update given as [out, in] (any floating type) to the weight, in the weight's layout and type. */
    public void addToWeight(Tensor deltaOutIn) {
        try (var guard = new org.bytedeco.pytorch.NoGradGuard()) {
            Tensor d = deltaOutIn.toType(Tensors.dtype(weight));
            weight.add_(storedInOut ? d.t() : d);
        }
    }

    public String name() {
        return name;
    }

    /** The weight as stored in the checkpoint ([out, in], or [in, out] for Conv1D). */
    public Tensor weight() {
        return weight;
    }

    public Tensor bias() {
        return bias;
    }

    /** True for GPT-2's Conv1D layout, weight stored [in, out]. */
    public boolean storedInOut() {
        return storedInOut;
    }

    public long inFeatures() {
        return weight.size(storedInOut ? 0 : 1);
    }

    public long outFeatures() {
        return weight.size(storedInOut ? 1 : 0);
    }

    public LoraAdapter adapter() {
        return adapter;
    }

    public void attach(LoraAdapter a) {
        if (adapter != null) throw new IllegalStateException(name + " already has a LoRA adapter");
        if (a.inFeatures() != inFeatures() || a.outFeatures() != outFeatures())
            throw new IllegalArgumentException("adapter shape does not fit " + name);
        adapter = a;
    }

    public LoraAdapter detach() {
        LoraAdapter a = adapter;
        adapter = null;
        return a;
    }

    /** Folds the adapter's update into the weight and removes the adapter. */
    public void merge() {
        if (adapter == null) return;
        addToWeight(adapter.deltaOutIn());
        adapter = null;
    }
}
