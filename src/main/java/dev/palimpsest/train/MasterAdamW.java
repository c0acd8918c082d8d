package dev.palimpsest.train;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import dev.palimpsest.tensor.Tensors;

/**
 * AdamW for mixed-precision training, as PyTorch users run it: the model's trainable weights stay in
 * its type (bf16 or fp16) for the forward and backward passes, while the optimizer updates fp32 master
 * copies of them, so steps smaller than bf16's resolution accumulate instead of vanishing. Only the
 * trainable tensors get masters and optimizer state; frozen weights get neither. fp32 and fp64 weights
 * are their own masters.
 */
public final class MasterAdamW implements AutoCloseable {
    private final Optimizer opt;
    private final List<Tensor> live = new ArrayList<>();
    private final List<Tensor> masters = new ArrayList<>();
    private final List<Tensor> all;

    private MasterAdamW(List<Tensor> params, double lr, double weightDecay) {
        all = List.copyOf(params);
        List<Tensor> optimised = new ArrayList<>();
        try (NoGradGuard g = new NoGradGuard()) {
            for (Tensor p : params) {
                ScalarType t = Tensors.dtype(p);
                if (t == ScalarType.Float || t == ScalarType.Double) {
                    optimised.add(p);
                    continue;
                }
                Tensor master = p.detach().toType(ScalarType.Float).clone();
                master.set_requires_grad(true);
                master.retainReference();
                live.add(p);
                masters.add(master);
                optimised.add(master);
            }
        }
        announce(params, new PrintWriter(System.err, true));
        opt = Optimizers.adamW(optimised, lr, weightDecay);
    }

    /** AdamW (betas 0.9, 0.999, eps 1e-8, decoupled decay) over {@code params}, with fp32 masters for narrow ones. */
    public static MasterAdamW over(List<Tensor> params, double lr, double weightDecay) {
        return new MasterAdamW(params, lr, weightDecay);
    }

    /** Bytes the masters and AdamW's two moments take: 12 per narrow element, 8 per fp32 one. */
    public static long stateBytes(List<Tensor> params) {
        long bytes = 0;
        for (Tensor p : params) {
            ScalarType t = Tensors.dtype(p);
            bytes += p.numel() * (t == ScalarType.Float ? 8L : t == ScalarType.Double ? 16L : 12L);
        }
        return bytes;
    }

    /** Says what training all of a large model's weights costs before it starts (nothing for small runs). */
    public static void announce(List<Tensor> params, PrintWriter err) {
        long bytes = stateBytes(params), elements = params.stream().mapToLong(Tensor::numel).sum();
        if (bytes < (1L << 30) || err == null) return;
        err.printf("training %,d weights: fp32 master weights and AdamW state take %.1f GB besides the model%n", elements, bytes / 1e9);
        err.flush();
    }

    public void zero_grad() {
        opt.zero_grad();
        for (Tensor p : live) {
            Tensor g = p.grad();
            if (g.defined()) g.zero_();
        }
    }

    /** One AdamW step on the masters (with the live weights' gradients, in fp32), then the live weights take their values. */
    public void step() {
        try (NoGradGuard g = new NoGradGuard()) {
            for (int i = 0; i < live.size(); i++) {
                Tensor grad = live.get(i).grad();
                if (!grad.defined()) continue;
                Tensor own = masters.get(i).grad();
                // The master's gradient buffer is reused: a fresh fp32 tensor per step would fault in new pages.
                if (own.defined()) own.copy_(grad);
                else masters.get(i).mutable_grad().put(grad.toType(ScalarType.Float));
            }
            opt.step();
            for (int i = 0; i < live.size(); i++) live.get(i).copy_(masters.get(i));
        }
    }

    public void setLr(double lr) {
        Optimizers.setLr(opt, lr);
    }

    /** The fp32 master of one of the trained tensors (the tensor itself when it is fp32 or fp64). */
    public Tensor fullPrecision(Tensor param) {
        for (int i = 0; i < live.size(); i++) if (live.get(i) == param) return masters.get(i);
        return param;
    }

    /** The tensors this optimizer trains (the model's own, not the masters). */
    public List<Tensor> parameters() {
        return all;
    }

    /** Frees the masters (the optimizer's state goes with the garbage collector). */
    @Override
    public void close() {
        masters.forEach(Tensor::releaseReference);
        masters.clear();
        live.clear();
    }
}
