package dev.palimpsest.model;

import dev.palimpsest.tensor.Tensors;
import org.bytedeco.pytorch.Tensor;

/**
 * Reads or replaces the activation at one {@link Site}. A hook returns the activation the forward pass
 * continues with: the input itself to only read it, or a new tensor to replace it. Replacements built
 * from tensors that require gradients take part in autograd. To keep copies of activations, use
 * {@link SiteHooks#record}: tensors a hook creates are freed when its layer finishes.
 */
@FunctionalInterface
public interface SiteHook {
    Tensor apply(Tensor activation);

    /**
     * Replaces the activation at (rows[i], positions[i]) by values[i] ([n, width]); other positions keep theirs.
     */
    static SiteHook replaceAt(long[] rows, long[] positions, Tensor values) {
        return a -> {
            Tensor flat = a.flatten(0, 1);
            Tensor idx = TokenPositions.flatIndex(a, rows, positions);
            return flat.index_copy(0, idx, values.toType(Tensors.dtype(a))).view(a.sizes());
        };
    }

    /** Adds delta[i] ([n, width], or one row broadcast to all) at (rows[i], positions[i]). */
    static SiteHook addAt(long[] rows, long[] positions, Tensor delta) {
        return a -> {
            Tensor flat = a.flatten(0, 1);
            Tensor idx = TokenPositions.flatIndex(a, rows, positions);
            Tensor d = delta.dim() == 1 ? delta.unsqueeze(0).expand(rows.length, delta.size(0)) : delta;
            return flat.index_add(0, idx, d.toType(Tensors.dtype(a))).view(a.sizes());
        };
    }
}
