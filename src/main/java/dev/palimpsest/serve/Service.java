package dev.palimpsest.serve;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.JsonNode;

import io.javalin.Javalin;

import dev.palimpsest.UserError;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.io.AtomicFiles;
import dev.palimpsest.io.Json;
import dev.palimpsest.model.LanguageModel;

/**
 * {@code palimpsest serve}, assembled: the state folder (locked: one server per state), the update log, the two model
 * copies at the log's newest version, the updater thread and the HTTP API. Starting after a crash is the same as
 * starting: updates that were applying go back to the queue, and version folders the log never committed are removed.
 */
public final class Service implements AutoCloseable {
    /** What the command line gave. */
    public record Options(Supplier<LanguageModel> loader, String model, Path state, String db, AccessTokens tokens, String method,
            Map<String, String> settings, List<QaItem> retain, long windowMillis, int maxBatch, String host, int port, boolean lean) {}

    private final FileChannel lockChannel;
    private final FileLock lock;
    private final UpdateLog log;
    private final LiveModel live;
    private final Updater updater;
    private final Thread thread;
    private final Javalin http;

    private Service(FileChannel lockChannel, FileLock lock, UpdateLog log, LiveModel live, Updater updater, Thread thread, Javalin http) {
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.log = log;
        this.live = live;
        this.updater = updater;
        this.thread = thread;
        this.http = http;
    }

    public static Service start(Options o, PrintStream out) throws IOException {
        if (o.lean() && !dev.palimpsest.method.MethodRegistry.get(o.method()).keepsWeights())
            throw new UserError("--lean shares one set of weights between the two model copies, and --method " + o.method()
                    + " writes weights; use a memory method (loka, grace, wise) or drop --lean");
        if (!o.tokens().required() && !loopback(o.host()))
            throw new UserError("--host " + o.host() + " without --tokens would let anyone on the network change the model; give --tokens FILE");
        Files.createDirectories(o.state());
        FileChannel ch = FileChannel.open(o.state().resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = ch.tryLock();
        if (lock == null) {
            ch.close();
            throw new UserError(o.state() + ": another palimpsest serve is using this state folder");
        }
        UpdateLog log = null;
        LiveModel live = null;
        try {
            checkModel(o.state(), o.model());
            log = UpdateLog.open(o.db());
            VersionStore store = new VersionStore(o.state());
            int requeued = log.requeueApplying();
            long version = log.currentVersion();
            List<Long> removed = store.removeAbove(version);
            if (requeued > 0 || !removed.isEmpty())
                out.printf("palimpsest serve: recovered: %d update(s) that were applying are queued again; %d uncommitted version folder(s) removed%n",
                        requeued, removed.size());
            live = new LiveModel(o.loader(), store, version, o.lean());
            ServiceMetrics metrics = new ServiceMetrics();
            Updater updater = new Updater(log, store, live, metrics, o.method(), o.settings(), o.retain(), o.windowMillis(), o.maxBatch(), out);
            Api api = new Api(log, live, updater, o.tokens(), metrics, o.method(), o.model(), out);
            Javalin http = api.start(o.host(), o.port());
            Thread t = new Thread(updater, "palimpsest-updater");
            t.setDaemon(true);
            t.start();
            out.printf("palimpsest serve: %s at version %d (%d queued), log %s%s; listening on http://%s:%d/%s%n", o.model(), version,
                    log.count(UpdateLog.Status.QUEUED), log.where(), o.lean() ? ", lean (one set of weights)" : "", o.host(), http.port(),
                    o.tokens().required() ? "" : " (no --tokens: every request is admin)");
            String why = dev.palimpsest.method.MethodRegistry.get(o.method()).withoutRetain();
            if (why != null && o.retain().isEmpty())
                out.println("palimpsest serve: warning: no --retain: " + why + "; updates that carry their own 'retain' questions are spared this");
            out.flush();
            return new Service(ch, lock, log, live, updater, t, http);
        } catch (RuntimeException | IOException e) {
            if (live != null) live.close();
            if (log != null) log.close();
            lock.release();
            ch.close();
            throw e;
        }
    }

    public int port() {
        return http.port();
    }

    /** Blocks until the server stops. */
    public void join() throws InterruptedException {
        thread.join();
    }

    @Override
    public void close() {
        http.stop();
        updater.stop();
        thread.interrupt();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        log.close();
        try {
            lock.release();
            lockChannel.close();
        } catch (IOException e) {
            // the lock goes with the process anyway
        }
    }

    /** A state folder serves the model it was made for: its versions hold that model's weights. */
    private static void checkModel(Path state, String model) throws IOException {
        Path f = state.resolve("serve.json");
        if (Files.exists(f)) {
            JsonNode n = Json.MAPPER.readTree(f.toFile());
            String was = n.path("model").asText();
            if (!was.equals(model))
                throw new UserError(state + ": this state folder holds updates of " + was + ", not " + model + "; give that --model or another --state");
        } else {
            AtomicFiles.writeString(f, Json.MAPPER.writeValueAsString(Map.of("model", model)));
        }
    }

    private static boolean loopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            throw new UserError("--host " + host + ": unknown host");
        }
    }
}
