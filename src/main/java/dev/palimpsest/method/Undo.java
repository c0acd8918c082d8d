package dev.palimpsest.method;

/** How to take one update back: restores the model exactly as it was before it. */
@FunctionalInterface
public interface Undo {
    void remove();
}
