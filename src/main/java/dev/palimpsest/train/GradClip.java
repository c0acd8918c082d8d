package dev.palimpsest.train;

import java.util.List;

import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import dev.palimpsest.tensor.Tensors;

/** Gradient clipping by global L2 norm, as torch.nn.utils.clip_grad_norm_. */
public final class GradClip {
    private GradClip() {}

    /** Scales all gradients so their joint L2 norm is at most {@code maxNorm}; returns the norm before clipping. */
    public static double clipNorm(List<Tensor> params, double maxNorm) {
        try (NoGradGuard g = new NoGradGuard()) {
            double sq = 0;
            for (Tensor p : params) {
                Tensor grad = p.grad();
                if (!grad.defined()) continue;
                double n = Tensors.item(grad.norm());
                sq += n * n;
            }
            double total = Math.sqrt(sq);
            double coef = maxNorm / (total + 1e-6);
            if (coef < 1) {
                for (Tensor p : params) {
                    Tensor grad = p.grad();
                    if (grad.defined()) grad.mul_(Tensors.scalar(coef));
                }
            }
            return total;
        }
    }
}
