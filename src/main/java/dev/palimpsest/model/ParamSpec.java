package dev.palimpsest.model;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import dev.palimpsest.tensor.Tensors;

/** A parameter an architecture needs: its checkpoint name, shape and how a fresh model initialises it. */
public record ParamSpec(String name, long[] shape, Init init) {
    public enum Init { NORMAL, ONES, ZEROS }

    public static ParamSpec normal(String name, long... shape) {
        return new ParamSpec(name, shape, Init.NORMAL);
    }

    public static ParamSpec ones(String name, long... shape) {
        return new ParamSpec(name, shape, Init.ONES);
    }

    public static ParamSpec zeros(String name, long... shape) {
        return new ParamSpec(name, shape, Init.ZEROS);
    }

    /** A linear layer's parameters, [out, in] weight and (when it has one) [out] bias, appended to {@code specs}. */
    public static void linear(java.util.List<ParamSpec> specs, String prefix, long out, long in, boolean bias) {
        specs.add(normal(prefix + ".weight", out, in));
        if (bias) specs.add(zeros(prefix + ".bias", out));
    }

    /** A fresh tensor of this parameter, of the given type: N(0, std), ones or zeros. */
    public Tensor initial(ScalarType type, double std) {
        return switch (init) {
            case NORMAL -> Tensors.randn(type, shape).mul(Tensors.scalar(std));
            case ONES -> Tensors.ones(type, shape);
            case ZEROS -> Tensors.zeros(type, shape);
        };
    }
}
