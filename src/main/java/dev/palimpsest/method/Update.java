package dev.palimpsest.method;

import java.util.Map;

/**
 * What a method did to a model, as {@link UpdateMethod#apply} records it: the method, the settings it ran with
 * (given or default), how long it took, and how to undo it.
 */
public final class Update {
    private final String method;
    private final Map<String, Object> settings;
    private final double seconds;
    private final Undo undo;

    Update(String method, Map<String, Object> settings, double seconds, Undo undo) {
        this.method = method;
        this.settings = settings;
        this.seconds = seconds;
        this.undo = undo;
    }

    public String method() {
        return method;
    }

    public Map<String, Object> settings() {
        return settings;
    }

    public double seconds() {
        return seconds;
    }

    /** Restores the model exactly as it was before the update. */
    public void remove() {
        undo.remove();
    }

    /** The method's own summary of what it changed (memories, requests), where it gives one. */
    @Override
    public String toString() {
        return undo.toString();
    }
}
