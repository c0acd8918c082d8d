package dev.palimpsest.method;

import java.util.List;


/** The model as it is: the reference row of every comparison. */
public final class Untouched implements UpdateMethod {
    @Override
    public String name() {
        return "none";
    }

    @Override
    public String description() {
        return "the untouched model (reference row)";
    }

    @Override
    public List<Setting> settings() {
        return List.of();
    }

    @Override
    public boolean keepsWeights() {
        return true;
    }

    @Override
    public Undo update(UpdateRun run) {
        return () -> {};
    }
}
