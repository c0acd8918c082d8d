package dev.palimpsest.method.locate;

import java.util.List;

import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import dev.palimpsest.UserError;
import dev.palimpsest.method.Setting;
import dev.palimpsest.method.Settings;
import dev.palimpsest.tensor.Tensors;

/**
 * AlphaEdit (Fang et al. 2025): MEMIT's procedure ({@link MultiLayerEdit}) with each layer's update confined to
 * the null space of the preserved knowledge's keys. P projects onto the eigenvectors of the corpus keys' second
 * moment C whose eigenvalues are under {@code nullspace_threshold}; the update solves
 * ΔWᵀ = (P (K Kᵀ + K_p K_pᵀ) + α I)⁻¹ P K Rᵀ, α = {@code l2}, K_p the keys of earlier batches (sequential
 * editing). The solution lies in P's range (α ΔWᵀ = P(K Rᵀ − …)), so ΔW k = 0 for any key in C's dominant
 * eigenspace: what the model did on the corpus is left as it was.
 * <p>Defaults of the original for Llama-3-8B: threshold 2e-2, α = 10. The threshold is absolute, so what it
 * keeps depends on the model's key scale; the method fails with a clear message when it leaves no null space.
 */
public final class AlphaEdit extends MultiLayerEdit {
    @Override
    public String name() {
        return "alphaedit";
    }

    @Override
    public String description() {
        return "MEMIT's layers, targets and settings, updates projected onto the null space of the corpus keys (keys of earlier batches kept)";
    }

    @Override
    protected List<Setting> solverSettings() {
        return List.of(Setting.positive("nullspace_threshold").is(2e-2, "eigenvalues of C below this span the null space"),
                Setting.positive("l2").is(10.0, "ridge on the update"));
    }

    @Override
    protected Solvers solvers(Settings s, long keyWidth) {
        double threshold = s.real("nullspace_threshold"), l2 = s.real("l2");
        return (layer, c) -> {
            Tensor p = nullSpaceProjector(c, threshold);
            if (Tensors.item(p.trace()) < 0.5)
                throw new UserError("alphaedit: no eigenvalue of layer " + layer + "'s key second moment is under nullspace_threshold="
                        + threshold + " (smallest " + String.format("%.3g", Tensors.item(torch.linalg_eigvalsh(c.toType(ScalarType.Double)).min()))
                        + "), so there is no null space to edit in; raise the threshold");
            long f = c.size(0);
            dev.palimpsest.io.Progress.note(String.format("alphaedit: layer %d edits in a null space of %.0f of %d key dimensions", layer, Tensors.item(p.trace()), f));
            Tensor previous = Tensors.zeros(ScalarType.Double, f, f), eye = torch.eye(f, Tensors.options(ScalarType.Double)).mul(Tensors.scalar(l2));
            p.retainReference();
            previous.retainReference();
            eye.retainReference();
            return new LayerSolver() {
                @Override
                public Tensor solve(Tensor keys, Tensor residuals) {
                    Tensor a = p.matmul(keys.t().matmul(keys).add(previous)).add(eye);
                    return torch.linalg_solve(a, p.matmul(keys.t().matmul(residuals)));
                }

                @Override
                public boolean remembers() {
                    return true;
                }

                @Override
                public void remember(Tensor keys) {
                    previous.add_(keys.t().matmul(keys));
                }

                @Override
                public void close() {
                    p.releaseReference();
                    previous.releaseReference();
                    eye.releaseReference();
                }
            };
        };
    }

    /** U Uᵀ over the eigenvectors U of C (symmetric) with eigenvalues under the threshold, in fp64. */
    static Tensor nullSpaceProjector(Tensor c, double threshold) {
        T_TensorTensor_T eig = torch.linalg_eigh(c.toType(ScalarType.Double));
        Tensor values = eig.get0(), vectors = eig.get1();
        Tensor u = vectors.index_select(1, torch.nonzero(values.lt(Tensors.scalar(threshold))).view(-1));
        return u.matmul(u.t());
    }
}
