package dev.palimpsest.method.memory;

import java.util.Map;

import dev.palimpsest.UserError;
import dev.palimpsest.method.Update;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.Memory;

/**
 * What a memory-based method did: it attached a memory (removing the update detaches it, and the model computes as
 * before) or added to one that was there already (then only removing that memory undoes it).
 */
public final class MemoryUpdate implements Update {
    private final String method, summary;
    private final Map<String, Object> settings;
    private final double seconds;
    private final LanguageModel model;
    private final Memory memory;
    private final boolean attached;

    public MemoryUpdate(String method, Map<String, Object> settings, double seconds, LanguageModel model, Memory memory, boolean attached, String summary) {
        this.method = method;
        this.settings = settings;
        this.seconds = seconds;
        this.model = model;
        this.memory = memory;
        this.attached = attached;
        this.summary = summary;
    }

    @Override
    public String method() {
        return method;
    }

    @Override
    public Map<String, Object> settings() {
        return settings;
    }

    @Override
    public double seconds() {
        return seconds;
    }

    @Override
    public void remove() {
        if (!attached) throw new UserError(method + ": this update added to a memory that existed before; remove that memory instead");
        model.detach(memory);
    }

    @Override
    public String toString() {
        return summary;
    }
}
