package dev.palimpsest.io;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The palimpsest CLI as a child of this process: the same Java and class path, the launcher's native stack size and
 * offline mode, and this process's palimpsest home, so that the child finds the same cached models.
 */
public final class SelfProcess {
    private SelfProcess() {}

    /** The command line of {@code palimpsest args…} in a child JVM, with {@code jvmOptions} (system properties) added. */
    public static List<String> command(List<String> jvmOptions, List<String> args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xss64m",
                "-Dai.djl.offline=true", "-Dpalimpsest.home=" + PalimpsestHome.root()));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.palimpsest.cli.Main"));
        cmd.addAll(args);
        return cmd;
    }
}
