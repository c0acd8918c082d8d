package dev.palimpsest.train;

import java.util.ArrayList;
import java.util.List;

import org.bytedeco.pytorch.Tensor;

import dev.palimpsest.model.CausalLM;

/**
 * What the training methods decide by a model's size: small models (under 50M parameters, such as the built-in
 * ones) take their measured learning rates, large ones the papers' scale. One threshold for every method.
 */
public final class ModelScale {
    private ModelScale() {}

    public static final long SMALL = 50_000_000L;

    public static long parameters(CausalLM net) {
        long n = 0;
        for (Tensor t : net.parameters().values()) n += t.numel();
        return n;
    }

    /** {@code small} below {@link #SMALL} parameters, else {@code large}. */
    public static double lr(CausalLM net, double small, double large) {
        return parameters(net) < SMALL ? small : large;
    }

    /** The items at {@code idx}, in that order: one batch of a shuffled epoch. */
    public static <T> List<T> pick(List<T> all, List<Integer> idx) {
        List<T> out = new ArrayList<>(idx.size());
        for (int i : idx) out.add(all.get(i));
        return out;
    }
}
