package dev.palimpsest.model;

import org.bytedeco.pytorch.Tensor;

/**
 * One forward pass's input. {@code ids} is [batch, tokens] int64. {@code positions} (same shape) are the
 * position ids; null means consecutive positions after what the cache holds. {@code keyMask} (same
 * shape, bool) marks real tokens; null means no padding among these tokens.
 */
public record ForwardInput(Tensor ids, Tensor positions, Tensor keyMask) {
    public static ForwardInput of(Tensor ids) {
        return new ForwardInput(ids, null, null);
    }
}
