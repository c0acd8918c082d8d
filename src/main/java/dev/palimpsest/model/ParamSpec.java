package dev.palimpsest.model;

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
}
