package dev.palimpsest.method.locate;

import java.util.List;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import dev.palimpsest.method.Setting;
import dev.palimpsest.method.Settings;
import dev.palimpsest.tensor.Tensors;

/**
 * MEMIT (Meng et al. 2023): many edits at once, spread over a range of layers ({@link MultiLayerEdit}); each
 * layer's update is ΔW = R Kᵀ (λC + K Kᵀ)⁻¹, the least-squares change that maps the batch's keys K to the
 * residuals R while keeping W's outputs on the corpus keys (second moment C) as they were, weighted by
 * λ = {@code mom2_update_weight}.
 * <p>λ: the original's 15000 goes with GPT-J's and Llama's 11k–16k-wide keys; what matters is how much one edit
 * key weighs against λC, kᵀ(λC)⁻¹k ≈ F/λ for a typical key, so the default scales it to the model's key width,
 * 15000 · F / 16384 (on the default model's F = 704, λ = 644; with 15000 there, by that estimate, a typical
 * single key would install about 4 % of its residual).
 */
public final class Memit extends MultiLayerEdit {
    @Override
    public String name() {
        return "memit";
    }

    @Override
    public String description() {
        return "batched edits spread over the MLP down-projections of several layers, each solved against the keys' second moment";
    }

    @Override
    protected List<Setting> solverSettings() {
        return List.of(Setting.nonNegative("mom2_update_weight").rule("15000 · F / 16384 (F: the keys' width)", "λ weighting the corpus keys' second moment against the edits' keys"));
    }

    @Override
    protected Solvers solvers(Settings s, long keyWidth) {
        double lambda = s.real("mom2_update_weight", Math.round(15000.0 * keyWidth / 16384));
        return (layer, c) -> {
            Tensor weighted = c.toType(ScalarType.Double).mul(Tensors.scalar(lambda));
            weighted.retainReference();
            return new LayerSolver() {
                @Override
                public Tensor solve(Tensor keys, Tensor residuals) {
                    return torch.linalg_solve(weighted.add(keys.t().matmul(keys)), keys.t().matmul(residuals));
                }

                @Override
                public void close() {
                    weighted.releaseReference();
                }
            };
        };
    }
}
