package dev.palimpsest.io;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

import dev.palimpsest.UserError;

/**
 * Single files written whole or not at all: into a temporary sibling named after this process, made
 * durable, then renamed over the target. The temporary file is created like any other (the user's
 * umask decides its mode) and removed if the write fails or the process is stopped.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    @FunctionalInterface
    public interface Writer {
        void write(Path tmp) throws IOException;
    }

    /**
     * Checks a user-named output file against the {@link OutputPolicy} and that its folder is writable,
     * before any compute; returns the path to write.
     */
    public static Path prepare(Path target, boolean overwrite, List<OutputPolicy.Guarded> guarded) {
        Path t = OutputPolicy.checkFile(target, overwrite, guarded);
        try {
            Files.createDirectories(t.getParent());
            TempPaths.sweep(t.getParent());
            Path probe = TempPaths.sibling(t, TempPaths.Kind.TMP);
            Files.createFile(probe);
            Files.delete(probe);
        } catch (IOException e) {
            throw new UserError(target + ": cannot write in " + t.getParent() + " (" + OutputFolder.reason(e) + ")");
        }
        return t;
    }

    /** Writes one file through a temporary sibling and renames it over {@code target}. */
    public static void writeFile(Path target, Writer writer) throws IOException {
        Path abs = target.toAbsolutePath().normalize();
        Files.createDirectories(abs.getParent());
        TempPaths.sweep(abs.getParent());
        Path tmp = TempPaths.sibling(abs, TempPaths.Kind.TMP);
        Cleanup.register(tmp);
        try {
            writer.write(tmp);
            OutputFolder.sync(tmp);
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UserError(target + ": cannot write (" + OutputFolder.reason(e) + ")");
        } finally {
            Files.deleteIfExists(tmp);
            Cleanup.done(tmp);
        }
    }

    public static void writeString(Path target, String text) throws IOException {
        writeFile(target, tmp -> Files.writeString(tmp, text));
    }

    /** Deletes a file or a folder with everything in it; a path that is already gone is fine. */
    public static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) return;
        if (Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
            try (DirectoryStream<Path> s = Files.newDirectoryStream(root)) {
                for (Path p : s) deleteTree(p);
            } catch (NoSuchFileException e) {
                return;
            }
        }
        Files.deleteIfExists(root);
    }
}
