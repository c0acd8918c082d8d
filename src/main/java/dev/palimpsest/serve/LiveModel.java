package dev.palimpsest.serve;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.Supplier;

import org.bytedeco.pytorch.NoGradGuard;

import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.Memory;

/**
 * Two copies of the model: queries run on the serving copy while the next update trains on the working copy, and a
 * finished version is published by swapping the two. A query therefore never sees a half-applied update, and every
 * answer names the version it was computed on. Queries on one copy run one at a time (its memories' hooks keep
 * per-pass state); the old serving copy is brought to the new version once its last query has finished.
 *
 * <p>Lean: the two copies share one set of weights (each has its own network objects, hooks and memories), which halves
 * the memory; only methods that keep the weights ({@code UpdateMethod.keepsWeights}) may then run.
 */
public final class LiveModel implements AutoCloseable {
    /** One copy: the model, the version it holds and which of its weights differ from the loaded model. */
    public static final class Copy {
        final LanguageModel model;
        final ReentrantLock lock = new ReentrantLock();
        long version;
        Set<String> changed;

        Copy(LanguageModel model, long version, Set<String> changed) {
            this.model = model;
            this.version = version;
            this.changed = new TreeSet<>(changed);
        }

        public LanguageModel model() {
            return model;
        }
    }

    /** An answer and the model version it was computed on. */
    public record Versioned<T>(T value, long version) {}

    private final Supplier<LanguageModel> loader;
    private final VersionStore store;
    private final boolean lean;
    private volatile Copy serving;
    /** Only the updater thread touches it. */
    private Copy working;

    /** Loads the model twice (once when lean) and brings both copies to {@code version}. */
    public LiveModel(Supplier<LanguageModel> loader, VersionStore store, long version, boolean lean) {
        this.loader = loader;
        this.store = store;
        this.lean = lean;
        this.serving = fresh(version);
        this.working = lean ? sharing(serving.model, version) : fresh(version);
    }

    public boolean lean() {
        return lean;
    }

    /** A copy over {@code base}'s weights with version {@code version}'s memories. */
    private Copy sharing(LanguageModel base, long version) {
        LanguageModel m = base.sharingWeights();
        store.restoreMemories(m, version);
        return new Copy(m, version, Set.of());
    }

    private Copy fresh(long version) {
        LanguageModel m = loader.get();
        try {
            store.restore(m, version);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
        return new Copy(m, version, store.changed(version));
    }

    /** Runs a query on the serving copy, alone on it. */
    public <T> Versioned<T> read(Function<LanguageModel, T> query) {
        while (true) {
            Copy c = serving;
            c.lock.lock();
            try {
                // A copy swapped out while we waited is being brought to the next version: ask the one now serving.
                if (c != serving) continue;
                return new Versioned<>(query.apply(c.model), c.version);
            } finally {
                c.lock.unlock();
            }
        }
    }

    public long version() {
        return serving.version;
    }

    /** The copy to update; it holds the serving version. */
    public Copy working() {
        return working;
    }

    /** The in-place write counters of every weight of the working copy, to see afterwards which ones an update wrote to. */
    public Map<String, Long> writeCounters() {
        Map<String, Long> out = new HashMap<>();
        working.model.net().parameters().forEach((n, t) -> out.put(n, t.__dispatch__version()));
        return out;
    }

    /** Adds the weights written since {@code before} was taken to the working copy's changed ones. */
    public void markWritten(Map<String, Long> before) {
        working.model.net().parameters().forEach((n, t) -> {
            if (t.__dispatch__version() != before.get(n)) working.changed.add(n);
        });
        // Shared weights written: a method that says it keeps them does not (a bug; the declaration test checks every method).
        if (lean && !working.changed.isEmpty())
            throw new IllegalStateException("the update wrote weights the two copies share: " + working.changed.iterator().next());
    }

    /**
     * Makes the working copy (now at {@code version}, its folder published and committed) the serving one, and brings
     * the other copy to the same version to become the next working copy.
     */
    public void publish(long version) {
        Copy next = working;
        next.version = version;
        Copy old = serving;
        serving = next;
        old.lock.lock(); // waits for the query that was running on it
        try {
            try (NoGradGuard g = new NoGradGuard()) {
                Set<String> names = new TreeSet<>(old.changed);
                names.addAll(next.changed);
                for (String n : names) old.model.net().parameter(n).copy_(next.model.net().parameter(n));
            }
            for (Memory mem : old.model.memories()) old.model.detach(mem);
            store.restoreMemories(old.model, version);
            old.version = version;
            old.changed = new TreeSet<>(next.changed);
        } finally {
            old.lock.unlock();
        }
        working = old;
    }

    /** Replaces the working copy with the model as loaded brought to {@code version} (after a failed update, or to revert). */
    public void resetWorking(long version) {
        if (lean) {
            // The weights never change: only the memories are put back.
            for (Memory mem : working.model.memories()) working.model.detach(mem);
            store.restoreMemories(working.model, version);
            working.version = version;
            return;
        }
        Copy old = working;
        working = fresh(version);
        old.model.close();
    }

    @Override
    public void close() {
        // A copy that shares the other's weights frees nothing; the owner frees them, in either order.
        serving.model.close();
        working.model.close();
    }
}
