package dev.palimpsest.model;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import dev.palimpsest.tensor.Tensors;

/**
 * The boolean mask [batch, 1, queries, keys] given to scaled-dot-product attention: a query at sequence
 * index i sees key j when j ≤ i, the key is a real token, and (with a sliding window) i − j < window.
 * Every query also sees itself, so padding queries never get an all-masked row (NaN); their outputs
 * are ignored anyway. Returns null when plain causal attention suffices.
 */
final class AttentionMask {
    private AttentionMask() {}

    /** {@code explicit}: a mask whenever a query must not see some key (no is_causal fast path, for soft-capped attention). */
    static Tensor build(long past, long queries, long batch, Tensor keyMask, Integer window, boolean explicit) {
        long keys = past + queries;
        boolean windowBites = window != null && keys > window;
        if (keyMask == null && past == 0 && !windowBites && !explicit) return null; // is_causal fast path
        if (keyMask == null && queries == 1 && !windowBites) return null; // one new token sees everything
        Tensor qIdx = Tensors.arange(queries).add(Tensors.scalar(past)).view(queries, 1);
        Tensor kIdx = Tensors.arange(keys).view(1, keys);
        Tensor allowed = kIdx.le(qIdx);
        if (windowBites) allowed = allowed.logical_and(qIdx.sub(kIdx).lt(Tensors.scalar(window)));
        Tensor mask = allowed.view(1, 1, queries, keys).expand(batch, 1, queries, keys);
        if (keyMask != null) mask = mask.logical_and(keyMask.toType(ScalarType.Bool).view(batch, 1, 1, keys));
        Tensor self = kIdx.eq(qIdx).view(1, 1, queries, keys);
        return mask.logical_or(self);
    }
}
