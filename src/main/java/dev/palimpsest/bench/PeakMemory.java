package dev.palimpsest.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** This process's peak resident memory (VmHWM in /proc/self/status): what the kernel charged it at most. */
public final class PeakMemory {
    private PeakMemory() {}

    /** Peak resident bytes so far, or -1 where /proc is not there. */
    public static long peakBytes() {
        return field("VmHWM:");
    }

    /**
     * Starts the peak over from the current resident size (Linux: {@code 5} into /proc/self/clear_refs), so that one of
     * several jobs in a process reports its own peak. Where that is not possible the peak stays the process's so far.
     */
    public static void reset() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        } catch (IOException | RuntimeException e) {
            // not Linux, or not allowed: the process-wide peak is still an upper bound
        }
    }

    /** Resident bytes now, or -1. */
    public static long residentBytes() {
        return field("VmRSS:");
    }

    private static long field(String name) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status")))
                if (line.startsWith(name)) return Long.parseLong(line.substring(name.length()).replace("kB", "").strip()) * 1024;
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
