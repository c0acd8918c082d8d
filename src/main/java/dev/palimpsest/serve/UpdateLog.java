package dev.palimpsest.serve;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.palimpsest.UserError;

/**
 * The service's durable record: every update submitted (its requests, status, the model version it is applied in and
 * its checks) and every model version. SQLite in a file by default, PostgreSQL when given a {@code jdbc:postgresql:}
 * URL; the SQL is the subset both speak. A state change is one transaction, committed before anyone is told of it:
 * after a crash the log says exactly which updates the persisted model versions hold.
 *
 * <p>One connection, used by one thread at a time (the methods are synchronized): the server's writes are a handful
 * per update, and a single writer is what SQLite wants anyway.
 */
public final class UpdateLog implements AutoCloseable {
    public enum Status { QUEUED, APPLYING, APPLIED, FAILED, REVERTED;
        public String word() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** One submitted update as the log holds it. {@code body} is the submission's JSON (edits, forgets, retain). */
    public record Entry(long id, Status status, String method, String body, String note, String created, String applied,
            Long version, String checks, String error, boolean revertRequested) {}

    /** One model version: the updates applied in it and what they measured (a revert re-applies later ones). */
    public record NewVersion(long version, String cause, Map<Long, String> checks) {}

    private final Connection db;
    private final String url;

    private UpdateLog(Connection db, String url) {
        this.db = db;
        this.url = url;
    }

    /** {@code db} is a JDBC URL, or a file path for SQLite. */
    public static UpdateLog open(String db) {
        String url = db.startsWith("jdbc:") ? db : "jdbc:sqlite:" + Path.of(db).toAbsolutePath();
        try {
            Connection c = DriverManager.getConnection(url);
            try (Statement s = c.createStatement()) {
                if (url.startsWith("jdbc:sqlite:")) {
                    s.execute("PRAGMA journal_mode=WAL");
                    // FULL: a commit is on disk before the client hears of it, even across a power cut.
                    s.execute("PRAGMA synchronous=FULL");
                    s.execute("PRAGMA busy_timeout=10000");
                }
                s.execute("CREATE TABLE IF NOT EXISTS updates (id BIGINT PRIMARY KEY, status VARCHAR(16) NOT NULL, method VARCHAR(64) NOT NULL,"
                        + " body TEXT NOT NULL, note TEXT, created VARCHAR(40) NOT NULL, applied VARCHAR(40), model_version BIGINT, checks TEXT,"
                        + " error TEXT, revert_requested INTEGER NOT NULL DEFAULT 0)");
                s.execute("CREATE TABLE IF NOT EXISTS versions (version BIGINT PRIMARY KEY, created VARCHAR(40) NOT NULL, cause TEXT NOT NULL)");
            }
            c.setAutoCommit(false);
            return new UpdateLog(c, url);
        } catch (SQLException e) {
            throw new UserError(db + ": cannot open the update log (" + Updater.oneLine(e) + ")");
        }
    }

    /** The URL without credentials, for messages. */
    public String where() {
        int q = url.indexOf('?');
        return q < 0 ? url : url.substring(0, q);
    }

    /** Puts a submission in the queue and commits; the returned id is durable. */
    public synchronized long enqueue(String method, String body, String note) {
        return tx(() -> {
            long id = single("SELECT COALESCE(MAX(id), 0) + 1 FROM updates");
            try (PreparedStatement p = db.prepareStatement(
                    "INSERT INTO updates (id, status, method, body, note, created) VALUES (?, ?, ?, ?, ?, ?)")) {
                p.setLong(1, id);
                p.setString(2, Status.QUEUED.word());
                p.setString(3, method);
                p.setString(4, body);
                p.setString(5, note);
                p.setString(6, Instant.now().toString());
                p.executeUpdate();
            }
            return id;
        });
    }

    public synchronized Entry get(long id) {
        List<Entry> e = query("SELECT * FROM updates WHERE id = ?", id);
        return e.isEmpty() ? null : e.get(0);
    }

    /** Newest first, {@code limit} of them, with ids below {@code before} (0: from the newest). */
    public synchronized List<Entry> page(int limit, long before) {
        return before > 0 ? query("SELECT * FROM updates WHERE id < ? ORDER BY id DESC LIMIT ?", before, limit)
                : query("SELECT * FROM updates ORDER BY id DESC LIMIT ?", limit);
    }

    public synchronized List<Entry> withStatus(Status s) {
        return query("SELECT * FROM updates WHERE status = ? ORDER BY id", s.word());
    }

    /** The applied updates from model version {@code from} on, in the order they were applied. */
    public synchronized List<Entry> appliedSince(long from) {
        return query("SELECT * FROM updates WHERE status = ? AND model_version >= ? ORDER BY model_version, id", Status.APPLIED.word(), from);
    }

    public synchronized List<Entry> revertsRequested() {
        return query("SELECT * FROM updates WHERE revert_requested = 1 AND status = ? ORDER BY id", Status.APPLIED.word());
    }

    public synchronized long count(Status s) {
        return tx(() -> single("SELECT COUNT(*) FROM updates WHERE status = '" + s.word() + "'"));
    }

    /** The newest model version (0: the model as loaded). */
    public synchronized long currentVersion() {
        return tx(() -> single("SELECT COALESCE(MAX(version), 0) FROM versions"));
    }

    /** Moves those of {@code ids} still queued to applying; returns the ones it moved (a revert may have cancelled others). */
    public synchronized List<Long> startApplying(List<Long> ids) {
        return tx(() -> {
            List<Long> moved = new ArrayList<>();
            for (long id : ids) if (setStatus(id, Status.QUEUED, Status.APPLYING)) moved.add(id);
            return moved;
        });
    }

    /** A queued update withdrawn before it applied. */
    public synchronized boolean cancelQueued(long id) {
        return tx(() -> setStatus(id, Status.QUEUED, Status.REVERTED));
    }

    public synchronized boolean requestRevert(long id) {
        return tx(() -> {
            try (PreparedStatement p = db.prepareStatement("UPDATE updates SET revert_requested = 1 WHERE id = ? AND status = ?")) {
                p.setLong(1, id);
                p.setString(2, Status.APPLIED.word());
                return p.executeUpdate() == 1;
            }
        });
    }

    /** A revert that could not be done: the update stays applied, with the reason. */
    public synchronized void revertFailed(long id, String error) {
        tx(() -> {
            try (PreparedStatement p = db.prepareStatement("UPDATE updates SET revert_requested = 0, error = ? WHERE id = ?")) {
                p.setString(1, "revert failed: " + error);
                p.setLong(2, id);
                p.executeUpdate();
            }
            return null;
        });
    }

    public synchronized void failed(List<Long> ids, String error) {
        tx(() -> {
            for (long id : ids)
                try (PreparedStatement p = db.prepareStatement("UPDATE updates SET status = ?, error = ? WHERE id = ?")) {
                    p.setString(1, Status.FAILED.word());
                    p.setString(2, error);
                    p.setLong(3, id);
                    p.executeUpdate();
                }
            return null;
        });
    }

    /**
     * Records new model versions in one transaction: each version's updates become applied in it with their checks, and
     * {@code reverted} (if not null) becomes reverted. Before this commits, the versions' folders are already
     * published; after it, they are the truth.
     */
    public synchronized void commit(List<NewVersion> versions, Long reverted) {
        tx(() -> {
            String now = Instant.now().toString();
            for (NewVersion v : versions) {
                try (PreparedStatement p = db.prepareStatement("INSERT INTO versions (version, created, cause) VALUES (?, ?, ?)")) {
                    p.setLong(1, v.version());
                    p.setString(2, now);
                    p.setString(3, v.cause());
                    p.executeUpdate();
                }
                for (Map.Entry<Long, String> c : v.checks().entrySet())
                    try (PreparedStatement p = db.prepareStatement(
                            "UPDATE updates SET status = ?, model_version = ?, checks = ?, applied = COALESCE(applied, ?), error = NULL WHERE id = ?")) {
                        p.setString(1, Status.APPLIED.word());
                        p.setLong(2, v.version());
                        p.setString(3, c.getValue());
                        p.setString(4, now);
                        p.setLong(5, c.getKey());
                        p.executeUpdate();
                    }
            }
            if (reverted != null)
                try (PreparedStatement p = db.prepareStatement("UPDATE updates SET status = ?, revert_requested = 0 WHERE id = ?")) {
                    p.setString(1, Status.REVERTED.word());
                    p.setLong(2, reverted);
                    p.executeUpdate();
                }
            return null;
        });
    }

    /** After a crash: updates that were being applied go back to the queue (their version was never committed). */
    public synchronized int requeueApplying() {
        return tx(() -> {
            try (PreparedStatement p = db.prepareStatement("UPDATE updates SET status = ? WHERE status = ?")) {
                p.setString(1, Status.QUEUED.word());
                p.setString(2, Status.APPLYING.word());
                return p.executeUpdate();
            }
        });
    }

    @Override
    public synchronized void close() {
        try {
            db.close();
        } catch (SQLException e) {
            // closing at shutdown: every commit is already durable
        }
    }

    private boolean setStatus(long id, Status from, Status to) throws SQLException {
        try (PreparedStatement p = db.prepareStatement("UPDATE updates SET status = ? WHERE id = ? AND status = ?")) {
            p.setString(1, to.word());
            p.setLong(2, id);
            p.setString(3, from.word());
            return p.executeUpdate() == 1;
        }
    }

    private long single(String sql) throws SQLException {
        try (Statement s = db.createStatement(); ResultSet r = s.executeQuery(sql)) {
            r.next();
            return r.getLong(1);
        }
    }

    private List<Entry> query(String sql, Object... args) {
        return tx(() -> {
            List<Entry> out = new ArrayList<>();
            try (PreparedStatement p = db.prepareStatement(sql)) {
                for (int i = 0; i < args.length; i++) p.setObject(i + 1, args[i]);
                try (ResultSet r = p.executeQuery()) {
                    while (r.next()) {
                        long v = r.getLong("model_version");
                        Long version = r.wasNull() ? null : v;
                        out.add(new Entry(r.getLong("id"), Status.valueOf(r.getString("status").toUpperCase(java.util.Locale.ROOT)),
                                r.getString("method"), r.getString("body"), r.getString("note"), r.getString("created"), r.getString("applied"),
                                version, r.getString("checks"), r.getString("error"), r.getInt("revert_requested") == 1));
                    }
                }
            }
            return out;
        });
    }

    private interface Work<T> {
        T run() throws SQLException;
    }

    private <T> T tx(Work<T> work) {
        try {
            T t = work.run();
            db.commit();
            return t;
        } catch (SQLException e) {
            try {
                db.rollback();
            } catch (SQLException ignored) {
                // the connection is gone; the first error says why
            }
            throw new IllegalStateException("update log " + where() + ": " + Updater.oneLine(e), e);
        }
    }
}
