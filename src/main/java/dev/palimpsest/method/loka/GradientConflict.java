package dev.palimpsest.method.loka;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import dev.palimpsest.tensor.Tensors;

/**
 * How much two objectives (editing and unlearning) fight over the same parameters. LOKA's conflict score is the
 * cosine between the two losses' gradients with respect to a memory's parameters, averaged over probe batches and
 * measured without updating anything; a negative score means a step for one undoes the other. For a memory whose
 * tasks do not conflict severely, the two gradients are combined by the two-task minimum-norm rule (MGDA).
 */
public final class GradientConflict {
    private GradientConflict() {}

    /** The gradient of {@code loss} with respect to {@code params}, flattened into one vector (fp64). Leaves no .grad behind. */
    public static Tensor gradient(Tensor loss, List<Tensor> params) {
        for (Tensor p : params) if (p.grad().defined()) p.grad().zero_();
        loss.backward();
        List<Tensor> parts = new ArrayList<>();
        try (NoGradGuard g = new NoGradGuard()) {
            for (Tensor p : params) {
                Tensor gr = p.grad();
                parts.add(gr.defined() ? gr.detach().toType(ScalarType.Double).reshape(-1).clone() : Tensors.zeros(ScalarType.Double, p.numel()));
                if (gr.defined()) gr.zero_();
            }
            return Tensors.cat(0, parts);
        }
    }

    /** cos(a, b); 0 when either is zero. */
    public static double cosine(Tensor a, Tensor b) {
        double na = Tensors.item(a.norm()), nb = Tensors.item(b.norm());
        if (na == 0 || nb == 0) return 0;
        return Tensors.item(a.dot(b)) / (na * nb);
    }

    /**
     * The conflict score over probe batches: the mean, over the probes, of the cosine between the gradients of the
     * editing loss and the unlearning loss that each probe builds (each supplier runs a forward pass).
     */
    public static double score(List<Supplier<Tensor>> editLosses, List<Supplier<Tensor>> forgetLosses, List<Tensor> params) {
        if (editLosses.size() != forgetLosses.size() || editLosses.isEmpty()) throw new IllegalArgumentException("need matching probe batches");
        double sum = 0;
        for (int i = 0; i < editLosses.size(); i++) {
            try (PointerScope s = new PointerScope()) {
                sum += cosine(gradient(editLosses.get(i).get(), params), gradient(forgetLosses.get(i).get(), params));
            }
        }
        return sum / editLosses.size();
    }

    /**
     * The minimum-norm point of the segment between two gradients (the two-task MGDA step): α·g1 + (1 − α)·g2 with
     * α = clamp(((g2 − g1)·g2) / ‖g1 − g2‖², 0, 1). When they agree it moves both losses down; when they conflict it
     * is the direction that hurts neither more than needed.
     */
    public static double minNormWeight(Tensor g1, Tensor g2) {
        Tensor diff = g1.sub(g2);
        double den = Tensors.item(diff.dot(diff));
        if (den == 0) return 0.5;
        return Math.max(0, Math.min(1, Tensors.item(g2.sub(g1).dot(g2)) / den));
    }

    /** Batch {@code step} of a cyclic pass through {@code order}: {@code batch} items (at most its size), wrapping around. */
    static List<Integer> cyclic(List<Integer> order, int step, int batch) {
        List<Integer> out = new ArrayList<>();
        for (int j = 0; j < Math.min(batch, order.size()); j++) out.add(order.get((step * batch + j) % order.size()));
        return out;
    }

    /** Writes a flat gradient (as {@link #gradient} gives) into the parameters' .grad, for an optimiser step. */
    static void setGradients(List<Tensor> params, Tensor flat) {
        try (NoGradGuard g = new NoGradGuard()) {
            long at = 0;
            for (Tensor p : params) {
                long n = p.numel();
                Tensor part = Tensors.slice(flat, 0, at, at + n).view(p.sizes()).toType(Tensors.dtype(p));
                if (p.grad().defined()) p.grad().copy_(part);
                else p.mutable_grad().put(part.clone());
                at += n;
            }
        }
    }
}
