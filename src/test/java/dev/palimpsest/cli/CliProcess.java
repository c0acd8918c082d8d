package dev.palimpsest.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The palimpsest CLI as a separate operating-system process, started as the launcher starts it (same
 * class path as the tests, -Xss64m, offline), so that tests can kill it, race it and read its exit
 * code and output as a user would. Output goes to files, so a killed process never blocks on a pipe.
 */
public final class CliProcess {
    private final Process process;
    private final Path out, err;

    private CliProcess(Process process, Path out, Path err) {
        this.process = process;
        this.out = out;
        this.err = err;
    }

    /** What a finished process left. */
    public record Result(int code, String out, String err) {}

    /** Starts {@code palimpsest args…}; {@code jvm} adds JVM options (a failpoint, forced progress bars). */
    public static CliProcess start(Path logs, List<String> jvm, String... args) throws IOException {
        return start(logs, List.of(), jvm, args);
    }

    /** As {@link #start(Path, List, String...)}, run through {@code prefix} (e.g. a shell that sets a ulimit first). */
    public static CliProcess start(Path logs, List<String> prefix, List<String> jvm, String... args) throws IOException {
        Files.createDirectories(logs);
        List<String> cmd = new ArrayList<>(prefix);
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // The launcher's options, plus a leaner JIT and GC: these processes live for seconds.
        cmd.addAll(List.of("-Xss64m", "-Dai.djl.offline=true", "-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1", "-XX:+UseSerialGC",
                "-XX:-UsePerfData"));
        String home = System.getProperty("palimpsest.home");
        if (home != null) cmd.add("-Dpalimpsest.home=" + home);
        cmd.addAll(jvm);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        Path o = Files.createTempFile(logs, "out", ".txt"), e = Files.createTempFile(logs, "err", ".txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(o.toFile()).redirectError(e.toFile());
        pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        pb.environment().put("OMP_NUM_THREADS", "1");
        return new CliProcess(pb.start(), o, e);
    }

    public static Result run(Path logs, String... args) throws IOException, InterruptedException {
        return start(logs, List.of(), args).waitFor();
    }

    /** What the process has written to standard output so far (it may still be running). */
    public String outSoFar() throws IOException {
        return Files.readString(out);
    }

    /** Waits for the process to end on its own (a failpoint, a fatal error) and returns what it left. */
    public Result waitForExit(long seconds) throws IOException, InterruptedException {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) throw new AssertionError("palimpsest process still running after " + seconds + " s");
        return new Result(process.exitValue(), Files.readString(out), Files.readString(err));
    }

    public long pid() {
        return process.pid();
    }

    public boolean alive() {
        return process.isAlive();
    }

    /** SIGKILL: no shutdown hooks, no flushing, as a crash or the OOM killer. */
    public void kill() {
        process.destroyForcibly();
    }

    /** SIGTERM: the JVM runs its shutdown hooks. */
    public void terminate() {
        process.destroy();
    }

    /**
     * A hang guard, not a timing check: the demo's process fine-tunes the default model's finetuned variant on first
     * use, which took over 120 s on a 2-core machine busy with other work.
     */
    public Result waitFor() throws IOException, InterruptedException {
        if (!process.waitFor(300, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("palimpsest process did not finish in 300 s");
        }
        return new Result(process.exitValue(), Files.readString(out), Files.readString(err));
    }

    /**
     * The lines a terminal would show for this text: each line's last carriage-return segment, with the
     * erase-line sequence removed and blank lines dropped (progress bars redraw with \r and erase themselves).
     */
    public static List<String> visibleLines(String text) {
        List<String> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            String shown = line.substring(line.lastIndexOf('\r') + 1).replace("\033[K", "");
            if (!shown.isBlank()) out.add(shown);
        }
        return out;
    }
}
