package dev.palimpsest.world;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** One micro world and model per test JVM (built in seconds), shared by the tests that need a trained model. */
public final class MicroWorld {
    private static Path folder;
    private static DefaultModel.Report report;

    private MicroWorld() {}

    public static synchronized Path folder() {
        if (folder == null) {
            try {
                Path dir = Files.createTempDirectory("palimpsest-micro");
                // deleteOnExit cannot remove a folder with files in it: delete the tree when the test JVM ends.
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    try (var paths = Files.walk(dir)) {
                        paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                    } catch (IOException e) {
                        // best effort: a leftover temporary folder is harmless
                    }
                }));
                report = DefaultModel.build(DefaultModel.MICRO, 5, dir, new PrintWriter(new StringWriter()));
                folder = dir;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return folder;
    }

    public static synchronized DefaultModel.Report report() {
        folder();
        return report;
    }

    public static Path model() {
        return folder().resolve("model");
    }

    public static Path world(String file) {
        return folder().resolve("world").resolve(file);
    }
}
