package dev.palimpsest.method;

import java.util.Map;

/** What a method did to a model: its settings, how long it took, and how to undo it. */
public interface Update {
    String method();

    Map<String, Object> settings();

    double seconds();

    /** Restores the model exactly as it was before the update. */
    void remove();
}
