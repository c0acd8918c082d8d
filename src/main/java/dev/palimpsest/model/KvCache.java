package dev.palimpsest.model;

import org.bytedeco.pytorch.Tensor;

import dev.palimpsest.tensor.Tensors;

/**
 * Keys and values of the tokens seen so far, per layer ([batch, kv-heads, seen, head-dim]), and which
 * of those tokens are real (not padding). The cache holds a reference to what it stores, so a
 * generation loop can close a PointerScope after every step; {@link #close} lets go of it all.
 */
public final class KvCache implements AutoCloseable {
    private final Tensor[] keys;
    private final Tensor[] values;
    private Tensor keyMask;
    private long length;
    private boolean frozen;

    public KvCache(int layers) {
        keys = new Tensor[layers];
        values = new Tensor[layers];
    }

    public long length() {
        return length;
    }

    /**
     * From now on passes attend to the cached tokens without adding their own: for scoring many different
     * continuations of one context (or the same continuation again and again, as an optimisation does).
     */
    public void freeze() {
        frozen = true;
    }

    /**
     * A frozen cache whose row i is row {@code rows[i]} of this one, with {@code keyMask} [rows, length] saying which of
     * its tokens row i sees: for many contexts that are prefixes of a few longer sequences.
     */
    public KvCache rows(Tensor rows, Tensor keyMask) {
        KvCache c = new KvCache(keys.length);
        for (int l = 0; l < keys.length; l++) {
            c.keys[l] = replace(null, keys[l].index_select(0, rows));
            c.values[l] = replace(null, values[l].index_select(0, rows));
        }
        c.keyMask = replace(null, keyMask);
        c.length = length;
        c.frozen = true;
        return c;
    }

    boolean frozen() {
        return frozen;
    }

    /** The cached keys and values of one layer. */
    Tensor[] cached(int layer) {
        return new Tensor[] {keys[layer], values[layer]};
    }

    /** Appends this step's keys and values of one layer and returns the full ones. */
    Tensor[] append(int layer, Tensor k, Tensor v) {
        keys[layer] = replace(keys[layer], keys[layer] == null ? k : Tensors.cat(2, keys[layer], k));
        values[layer] = replace(values[layer], values[layer] == null ? v : Tensors.cat(2, values[layer], v));
        return new Tensor[] {keys[layer], values[layer]};
    }

    /** The padding mask of all keys including the new tokens ([batch, length + new], bool), or null if none. */
    Tensor keyMaskWith(Tensor newMask, long batch, long newTokens) {
        if (keyMask == null && newMask == null) return null;
        Tensor past = keyMask != null ? keyMask
                : Tensors.ones(org.bytedeco.pytorch.global.torch.ScalarType.Bool, batch, length);
        Tensor now = newMask != null ? newMask
                : Tensors.ones(org.bytedeco.pytorch.global.torch.ScalarType.Bool, batch, newTokens);
        return Tensors.cat(1, past, now);
    }

    /** Called once per forward pass after every layer has appended. */
    void advance(long newTokens, Tensor fullMask) {
        if (frozen) return;
        length += newTokens;
        keyMask = fullMask == null ? null : replace(keyMask, fullMask);
    }

    private static Tensor replace(Tensor old, Tensor now) {
        now.retainReference();
        if (old != null) old.releaseReference();
        return now;
    }

    @Override
    public void close() {
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] != null) keys[i].releaseReference();
            if (values[i] != null) values[i].releaseReference();
            keys[i] = values[i] = null;
        }
        if (keyMask != null) keyMask.releaseReference();
        keyMask = null;
        length = 0;
    }
}
