package dev.palimpsest.io;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Hidden siblings that an output goes through: {@code .NAME.palimpsest-tmp.HOST.PID.N} while it is
 * written, {@code .NAME.palimpsest-old.HOST.PID.N} for the folder it replaces until the new one is in
 * place. The owner's host and pid are in the name, so any later command can tell a dead writer's
 * leftovers from a live writer's work: {@link #sweep} removes the first kind and puts a stranded old
 * folder back where it was.
 */
public final class TempPaths {
    private TempPaths() {}

    public enum Kind { TMP, OLD }

    private static final Pattern NAME = Pattern.compile("^\\.(.+)\\.palimpsest-(tmp|old)\\.([A-Za-z0-9-]+)\\.(\\d+)\\.(\\d+)$");
    private static final AtomicLong SEQUENCE = new AtomicLong();
    private static final long PID = ProcessHandle.current().pid();
    private static final String HOST = host();

    /** A recognised temporary sibling: what it stands for and who made it. */
    public record Parsed(Path path, Path target, Kind kind, String host, long pid) {}

    /** A fresh name for a temporary sibling of {@code target} owned by this process. */
    public static Path sibling(Path target, Kind kind) {
        Path abs = target.toAbsolutePath().normalize();
        String name = "." + abs.getFileName() + ".palimpsest-" + kind.name().toLowerCase() + "." + HOST + "." + PID + "."
                + SEQUENCE.incrementAndGet();
        return abs.resolveSibling(name);
    }

    /** A temporary folder for work in progress next to {@code target}, removed by {@link #discard}, a stop, or a later sweep. */
    public static Path scratch(Path target) throws IOException {
        Path p = sibling(target, Kind.TMP);
        Cleanup.register(p);
        Files.createDirectories(p);
        return p;
    }

    public static void discard(Path scratch) throws IOException {
        AtomicFiles.deleteTree(scratch);
        Cleanup.done(scratch);
    }

    public static Optional<Parsed> parse(Path p) {
        Matcher m = NAME.matcher(p.getFileName().toString());
        if (!m.matches()) return Optional.empty();
        return Optional.of(new Parsed(p, p.resolveSibling(m.group(1)), Kind.valueOf(m.group(2).toUpperCase()), m.group(3),
                Long.parseLong(m.group(4))));
    }

    /**
     * Whether the process that made this sibling may still be running. Another host's siblings are
     * never judged (its pids mean nothing here); a pid that now belongs to a process started after the
     * sibling was made or renamed (its ctime) has been reused, so its owner is dead.
     */
    public static boolean ownerMayBeAlive(Parsed p) {
        if (!p.host().equals(HOST)) return true;
        if (p.pid() == PID) return true;
        Optional<ProcessHandle> h = ProcessHandle.of(p.pid());
        if (h.isEmpty() || !h.get().isAlive()) return false;
        Optional<Instant> started = h.get().info().startInstant();
        if (started.isEmpty()) return true;
        try {
            FileTime changed = (FileTime) Files.getAttribute(p.path(), "unix:ctime", java.nio.file.LinkOption.NOFOLLOW_LINKS);
            return !started.get().isAfter(changed.toInstant());
        } catch (IOException e) {
            return false; // gone already
        } catch (RuntimeException e) {
            return true; // no ctime on this file system: assume the owner lives
        }
    }

    /**
     * Cleans up after writers that died in {@code dir}: their temporary siblings are deleted; an old
     * folder whose target is missing (the writer died between moving it aside and putting the new one in
     * place) is moved back, so the target is the last complete version again. Best effort: a sibling
     * that cannot be removed is left for the next sweep.
     */
    public static void sweep(Path dir) {
        if (!Files.isDirectory(dir)) return;
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, ".*.palimpsest-*")) {
            for (Path p : s) {
                Optional<Parsed> parsed = parse(p);
                if (parsed.isEmpty() || ownerMayBeAlive(parsed.get())) continue;
                settle(parsed.get());
            }
        } catch (IOException e) {
            // An unreadable parent is reported by whoever writes there next.
        }
    }

    /** Restores or deletes one dead writer's sibling (also used by this process's shutdown hook). */
    static void settle(Parsed p) {
        try {
            if (p.kind() == Kind.OLD && !Files.exists(p.target(), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                move(p.path(), p.target());
            } else {
                AtomicFiles.deleteTree(p.path());
            }
        } catch (IOException e) {
            // Left for a later sweep.
        }
    }

    /**
     * A reader that finds {@code target} missing calls this: a dead writer's stranded old folder is put
     * back; a live writer between its two renames is given up to two seconds to finish.
     */
    public static void awaitOrRestore(Path target) {
        Path abs = target.toAbsolutePath().normalize();
        Path dir = abs.getParent();
        if (dir == null || !Files.isDirectory(dir)) return;
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (!Files.exists(abs)) {
            boolean pending = false;
            try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "." + globEscape(abs.getFileName().toString()) + ".palimpsest-old.*")) {
                for (Path p : s) {
                    Optional<Parsed> parsed = parse(p);
                    if (parsed.isEmpty() || !parsed.get().target().equals(abs)) continue;
                    if (ownerMayBeAlive(parsed.get())) pending = true;
                    else settle(parsed.get());
                }
            } catch (IOException e) {
                return;
            }
            if (!pending || System.nanoTime() > deadline) break;
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
    }

    static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
    }

    private static String globEscape(String s) {
        return s.replaceAll("([\\\\*?\\[\\]{}])", "\\\\$1");
    }

    private static String host() {
        String h = null;
        try {
            h = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
        } catch (IOException | RuntimeException e) {
            h = System.getenv("HOSTNAME");
        }
        if (h == null || h.isBlank()) h = "localhost";
        h = h.replaceAll("[^A-Za-z0-9-]", "-");
        return h.length() > 32 ? h.substring(0, 32) : h;
    }
}
