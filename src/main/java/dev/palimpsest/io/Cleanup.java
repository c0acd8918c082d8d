package dev.palimpsest.io;

import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * This process's temporary siblings, removed by a shutdown hook when the process is stopped (SIGTERM,
 * SIGINT, System.exit) before it could finish. Publishing holds {@link #LOCK} across its renames, and so
 * does the hook: a stop never lands between moving the old folder aside and putting the new one in place.
 * (kill -9 skips every hook; the next command's {@link TempPaths#sweep} handles that.)
 */
public final class Cleanup {
    private Cleanup() {}

    static final Object LOCK = new Object();
    private static final Set<Path> PENDING = new LinkedHashSet<>();
    private static volatile boolean stopping;
    private static boolean hooked;

    /** Marks a temporary sibling as this process's to remove if it stops early. */
    static void register(Path p) {
        synchronized (LOCK) {
            if (!hooked) {
                Runtime.getRuntime().addShutdownHook(new Thread(Cleanup::run, "palimpsest-cleanup"));
                hooked = true;
            }
            PENDING.add(p.toAbsolutePath().normalize());
        }
    }

    /** The sibling is published, or removed: nothing left to do for it. */
    static void done(Path p) {
        synchronized (LOCK) {
            PENDING.remove(p.toAbsolutePath().normalize());
        }
    }

    /** True once the process is shutting down: errors from work cut short by it are not worth reporting. */
    public static boolean stopping() {
        return stopping;
    }

    private static void run() {
        stopping = true;
        synchronized (LOCK) {
            for (Path p : PENDING) TempPaths.parse(p).ifPresent(TempPaths::settle);
            PENDING.clear();
        }
    }
}
