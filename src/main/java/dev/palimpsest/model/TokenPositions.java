package dev.palimpsest.model;

import org.bytedeco.pytorch.Tensor;

import dev.palimpsest.tensor.Tensors;

/** Gathers activations at chosen (row, position) pairs of a [batch, tokens, width] tensor. */
public final class TokenPositions {
    private TokenPositions() {}

    /** Indices into the activation flattened to [batch * tokens, width]. */
    public static Tensor flatIndex(Tensor activation, long[] rows, long[] positions) {
        if (rows.length != positions.length) throw new IllegalArgumentException("rows and positions differ in length");
        long b = activation.size(0), t = activation.size(1);
        long[] idx = new long[rows.length];
        for (int i = 0; i < rows.length; i++) {
            long p = positions[i] < 0 ? t + positions[i] : positions[i];
            if (rows[i] < 0 || rows[i] >= b || p < 0 || p >= t)
                throw new IndexOutOfBoundsException("position (" + rows[i] + ", " + positions[i] + ") outside " + b + "x" + t);
            idx[i] = rows[i] * t + p;
        }
        return Tensors.longs(idx);
    }

    /** The activation rows at (rows[i], positions[i]): [n, width]. */
    public static Tensor gather(Tensor activation, long[] rows, long[] positions) {
        return activation.flatten(0, 1).index_select(0, flatIndex(activation, rows, positions));
    }
}
