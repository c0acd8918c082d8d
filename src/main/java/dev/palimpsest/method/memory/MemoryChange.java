package dev.palimpsest.method.memory;

import dev.palimpsest.UserError;
import dev.palimpsest.method.Undo;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.Memory;

/**
 * What a memory-based method did: it attached a memory (undoing detaches it, and the model computes as before) or
 * added to one that was there already (then only removing that memory undoes it).
 */
public final class MemoryChange implements Undo {
    private final String method, summary;
    private final LanguageModel model;
    private final Memory memory;
    private final boolean attached;

    public MemoryChange(String method, LanguageModel model, Memory memory, boolean attached, String summary) {
        this.method = method;
        this.model = model;
        this.memory = memory;
        this.attached = attached;
        this.summary = summary;
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
