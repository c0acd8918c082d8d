package dev.palimpsest.serve;

import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

import dev.palimpsest.data.QaItem;
import dev.palimpsest.eval.UpdateChecks;
import dev.palimpsest.io.Failpoints;
import dev.palimpsest.io.Json;
import dev.palimpsest.method.FiniteOutputs;
import dev.palimpsest.method.MethodRegistry;
import dev.palimpsest.method.UpdateMethod;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.request.KnowledgeRequest;

/**
 * The one thread that changes the model. It takes the oldest queued update once the batch window after its arrival has
 * passed, with every other queued update for the same method (LOKA places a batch's requests together), trains them
 * into the working copy, measures each update's own checks, persists the new version, commits it in the log and only
 * then publishes it. Reverts come before queued updates.
 *
 * <p>A revert rebuilds the model as though the update had never been applied: the state before its version is
 * restored and every later batch is applied again, in order, with the same method, settings and seed; their checks are
 * measured anew. The versions this makes are committed together with the revert, in one transaction.
 */
public final class Updater implements Runnable {
    private final UpdateLog log;
    private final VersionStore store;
    private final LiveModel live;
    private final ServiceMetrics metrics;
    private final String defaultMethod;
    private final Map<String, String> settings;
    private final List<QaItem> standingRetain;
    private final long windowMillis;
    private final int maxBatch;
    private final PrintStream events;
    private final Object signal = new Object();
    private final Map<Long, CompletableFuture<UpdateLog.Entry>> reverts = new ConcurrentHashMap<>();
    private volatile boolean running = true;

    public Updater(UpdateLog log, VersionStore store, LiveModel live, ServiceMetrics metrics, String defaultMethod,
            Map<String, String> settings, List<QaItem> standingRetain, long windowMillis, int maxBatch, PrintStream events) {
        this.log = log;
        this.store = store;
        this.live = live;
        this.metrics = metrics;
        this.defaultMethod = defaultMethod;
        this.settings = settings;
        this.standingRetain = standingRetain;
        this.windowMillis = windowMillis;
        this.maxBatch = maxBatch;
        this.events = events;
    }

    /** Something was queued or a revert requested. */
    public void wake() {
        synchronized (signal) {
            signal.notifyAll();
        }
    }

    public void stop() {
        running = false;
        wake();
    }

    /** Completes when the revert of {@code id} has been done or has failed; take it before requesting the revert. */
    public CompletableFuture<UpdateLog.Entry> revertOutcome(long id) {
        return reverts.computeIfAbsent(id, x -> new CompletableFuture<>());
    }

    @Override
    public void run() {
        while (running) {
            try {
                long wait = step();
                if (wait > 0)
                    synchronized (signal) {
                        signal.wait(wait);
                    }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException | Error e) {
                // The log is the truth; a step that failed outside an update (the database went away) is retried.
                events.println(Instant.now() + " updater: " + oneLine(e));
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    /** Does one piece of work; returns how long to wait before the next look (0: look again now). */
    long step() {
        List<UpdateLog.Entry> asked = log.revertsRequested();
        if (!asked.isEmpty()) {
            revert(asked.get(0));
            return 0;
        }
        List<UpdateLog.Entry> queued = log.withStatus(UpdateLog.Status.QUEUED);
        if (queued.isEmpty()) return 1000;
        UpdateLog.Entry first = queued.get(0);
        long due = Instant.parse(first.created()).toEpochMilli() + windowMillis - System.currentTimeMillis();
        if (due > 0) return due;
        List<Long> ids = queued.stream().filter(e -> e.method().equals(first.method())).limit(maxBatch).map(UpdateLog.Entry::id).toList();
        apply(ids);
        return 0;
    }

    private void apply(List<Long> asked) {
        List<Long> ids = log.startApplying(asked);
        if (ids.isEmpty()) return;
        List<UpdateLog.Entry> batch = new ArrayList<>();
        for (long id : ids) batch.add(log.get(id));
        long t0 = System.nanoTime();
        long version = log.currentVersion() + 1;
        try {
            Map<Long, String> checks = train(batch);
            store.write(version, live.working().model(), live.working().changed);
            Failpoints.reach(Failpoints.VERSION_WRITTEN);
            log.commit(List.of(new UpdateLog.NewVersion(version, "applied " + ids, checks)), null);
        } catch (RuntimeException e) {
            String why = oneLine(e);
            events.printf("%s updater: updates %s failed: %s%n", Instant.now(), ids, why);
            metrics.updatesFailed.inc(ids.size());
            metrics.updateSeconds.observe((System.nanoTime() - t0) / 1e9);
            try {
                log.failed(ids, why);
            } finally {
                recover(); // even when the log cannot be written: no batch may train on a half-updated copy
            }
            return;
        }
        // Committed: from here on the version is the truth, and only serving it is left.
        Failpoints.reach(Failpoints.COMMITTED);
        publish(version);
        metrics.updatesApplied.inc(ids.size());
        events.printf("%s updater: version %d applies updates %s (%s, %.1f s)%n", Instant.now(), version, ids, batch.get(0).method(),
                (System.nanoTime() - t0) / 1e9);
        metrics.updateSeconds.observe((System.nanoTime() - t0) / 1e9);
    }

    /** Serves a committed version; a failure here leaves the copies unknown, so the process exits and a restart serves it. */
    private void publish(long version) {
        try {
            live.publish(version);
        } catch (RuntimeException | Error e) {
            fatal("cannot serve committed version " + version + " (" + oneLine(e) + ")");
        }
    }

    /**
     * After a failure: the working copy back to the serving version, and no uncommitted folder left behind. When even that
     * fails, the working copy is in an unknown state and no further update may train on it: the process exits, and a
     * restart rebuilds both copies from the log and the version folders (crash-only recovery).
     */
    private void recover() {
        try {
            store.removeAbove(log.currentVersion());
            live.resetWorking(live.version());
        } catch (RuntimeException | Error e) {
            fatal("cannot restore the working copy (" + oneLine(e) + ")");
        }
    }

    private void fatal(String what) {
        events.printf("%s updater: %s; exiting so that a restart rebuilds the model from the log%n", Instant.now(), what);
        events.flush();
        System.exit(70);
    }

    /**
     * Trains one batch (all for one method) into the working copy and returns each update's checks as JSON; the copy's
     * record of changed weights grows by the ones written. The batch's seed is its smallest id, so a re-applied batch
     * trains the same way.
     */
    private Map<Long, String> train(List<UpdateLog.Entry> batch) {
        LiveModel.Copy w = live.working();
        LanguageModel m = w.model();
        QuestionFormat qf = m.questionFormat();
        long seed = batch.stream().mapToLong(UpdateLog.Entry::id).min().getAsLong();
        Map<Long, List<KnowledgeRequest>> own = new LinkedHashMap<>();
        List<KnowledgeRequest> all = new ArrayList<>();
        List<QaItem> retain = new ArrayList<>(standingRetain);
        for (UpdateLog.Entry e : batch) {
            Submission s = Api.parse(e.body(), Submission.class);
            List<KnowledgeRequest> r = s.requests(m, qf, e.id());
            own.put(e.id(), r);
            all.addAll(r);
            retain.addAll(s.retainItems());
        }
        String name = batch.get(0).method();
        UpdateMethod method = MethodRegistry.get(name);
        Map<String, Long> before = live.writeCounters();
        method.apply(m, qf, all, retain, name.equals(defaultMethod) ? settings : Map.of(), seed);
        FiniteOutputs.check(name, m, qf, all);
        live.markWritten(before);
        Map<Long, String> checks = new LinkedHashMap<>();
        for (Map.Entry<Long, List<KnowledgeRequest>> e : own.entrySet())
            try {
                checks.put(e.getKey(), Json.MAPPER.writeValueAsString(UpdateChecks.measure(m, qf, e.getValue()).record()));
            } catch (com.fasterxml.jackson.core.JsonProcessingException x) {
                throw new IllegalStateException(x);
            }
        return checks;
    }

    private void revert(UpdateLog.Entry target) {
        long id = target.id(), from = target.version();
        CompletableFuture<UpdateLog.Entry> outcome = revertOutcome(id);
        long t0 = System.nanoTime(), version;
        int batches;
        try {
            // Every batch applied from the reverted one's version on, in order, without the reverted update.
            Map<Long, List<UpdateLog.Entry>> later = new LinkedHashMap<>();
            for (UpdateLog.Entry e : log.appliedSince(from))
                if (e.id() != id) later.computeIfAbsent(e.version(), v -> new ArrayList<>()).add(e);
            batches = later.size();
            live.resetWorking(from - 1);
            long next = log.currentVersion() + 1;
            List<UpdateLog.NewVersion> made = new ArrayList<>();
            if (later.isEmpty()) {
                store.write(next, live.working().model(), live.working().changed);
                made.add(new UpdateLog.NewVersion(next, "reverted " + id + " (the state of version " + (from - 1) + ")", Map.of()));
            } else {
                for (List<UpdateLog.Entry> b : later.values()) {
                    Map<Long, String> checks = train(b);
                    store.write(next, live.working().model(), live.working().changed);
                    made.add(new UpdateLog.NewVersion(next, "reverted " + id + ": re-applied " + b.stream().map(UpdateLog.Entry::id).toList(), checks));
                    next++;
                }
            }
            version = made.get(made.size() - 1).version();
            Failpoints.reach(Failpoints.VERSION_WRITTEN);
            log.commit(made, id);
        } catch (RuntimeException e) {
            String why = oneLine(e);
            events.printf("%s updater: revert of %d failed: %s%n", Instant.now(), id, why);
            outcome.completeExceptionally(new ApiError(500, "revert of " + id + " failed: " + why));
            try {
                log.revertFailed(id, why);
            } finally {
                reverts.remove(id);
                recover();
            }
            return;
        }
        Failpoints.reach(Failpoints.COMMITTED);
        publish(version);
        metrics.updatesReverted.inc();
        events.printf("%s updater: version %d reverts update %d (%d later batches re-applied, %.1f s)%n", Instant.now(), version, id,
                batches, (System.nanoTime() - t0) / 1e9);
        reverts.remove(id);
        outcome.complete(log.get(id));
    }

    static String oneLine(Throwable e) {
        String m = e.getMessage();
        return (m == null ? e.getClass().getSimpleName() : m).replaceAll("\\s+", " ").strip();
    }
}
