package dev.palimpsest.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import dev.palimpsest.UserError;

/**
 * A folder a command writes (a model, a world, a run's report), made safe for the user's files:
 * {@link #prepare} applies the {@link OutputPolicy} and creates a staging folder next to the target
 * before any compute, so a bad or unwritable target fails at once; the command fills
 * {@link #staging()}; {@link #publish} writes the {@link FolderRecord} last and puts the folder in place
 * with one rename. A folder being replaced is moved aside first and deleted only once the new one is in
 * place. Whatever happens, the target holds a complete old or a complete new version, and the
 * temporary siblings of a dead process are swept by the next command that writes there.
 */
public final class OutputFolder implements AutoCloseable {
    private static final int PUBLISH_ATTEMPTS = 16;

    private final Path target;
    private final Path staging;
    private final boolean overwrite;
    private boolean published;

    private OutputFolder(Path target, Path staging, boolean overwrite) {
        this.target = target;
        this.staging = staging;
        this.overwrite = overwrite;
    }

    /** Checks {@code target} against the policy and creates the staging folder; nothing is computed yet. */
    public static OutputFolder prepare(Path target, boolean overwrite, List<OutputPolicy.Guarded> guarded) {
        Path t = OutputPolicy.checkFolder(target, overwrite, guarded);
        Path parent = t.getParent();
        try {
            Files.createDirectories(parent);
        } catch (IOException e) {
            throw new UserError(target + ": cannot create its parent folder " + parent + " (" + reason(e) + ")");
        }
        TempPaths.sweep(parent);
        Path staging = TempPaths.sibling(t, TempPaths.Kind.TMP);
        Cleanup.register(staging);
        try {
            Files.createDirectory(staging);
        } catch (IOException e) {
            Cleanup.done(staging);
            throw new UserError(target + ": cannot write in " + parent + " (" + reason(e) + ")");
        }
        return new OutputFolder(t, staging, overwrite);
    }

    /** Checks the target against an input found only after {@link #prepare} (a model named in a config file). */
    public void guard(OutputPolicy.Guarded input) {
        OutputPolicy.refuseProtected(target, target, List.of(input));
    }

    /** The folder to fill; it becomes the target when published. */
    public Path staging() {
        return staging;
    }

    public Path target() {
        return target;
    }

    /** Fails now, before the compute, when the target's file system lacks room for about {@code bytes}. */
    public void requireSpace(long bytes) {
        try {
            FileStore store = Files.getFileStore(staging);
            long free = store.getUsableSpace();
            if (free < bytes)
                throw new UserError(target + ": needs about " + megabytes(bytes) + " MB but only " + megabytes(free)
                        + " MB are free there; nothing was computed or written");
        } catch (IOException e) {
            throw new UserError(target + ": cannot check free space (" + reason(e) + ")");
        }
    }

    /** Fills the staging folder; a failed write (disk full, file too large) is reported naming the target. */
    public void fill(AtomicFiles.Writer writer) {
        try {
            writer.write(staging);
        } catch (IOException e) {
            throw new UserError(target + ": cannot write (" + reason(e) + "); nothing was changed there");
        }
    }

    /** Writes a command's record ({@code palimpsest_update.json}, …) into the staging folder, pretty-printed. */
    public void writeJson(String name, Object value) {
        fill(dir -> Files.write(dir.resolve(name), Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(value)));
    }

    /** Writes the record, makes everything durable and puts the folder in place. */
    public void publish(String kind) {
        List<Path> asides = new ArrayList<>();
        try {
            Failpoints.reach(Failpoints.STAGED);
            FolderRecord record = FolderRecord.describe(staging, kind);
            Files.write(staging.resolve(FolderRecord.FILE), record.toJson());
            syncTree(staging);
            Failpoints.reach(Failpoints.RECORDED);
            synchronized (Cleanup.LOCK) {
                if (Cleanup.stopping()) throw new UserError(target + ": not written: the process is stopping");
                putInPlace(asides);
                published = true;
                Cleanup.done(staging);
            }
            sync(target.getParent());
            Failpoints.reach(Failpoints.PUBLISHED);
        } catch (IOException e) {
            throw new UserError(target + ": cannot write (" + reason(e) + "); nothing was changed there");
        }
        for (Path old : asides) {
            try {
                AtomicFiles.deleteTree(old);
            } catch (IOException e) {
                // The next sweep removes it.
            }
            Cleanup.done(old);
        }
    }

    /**
     * The renames. Another writer may publish to the same target at any moment: a rename that finds
     * the target taken goes round again, so the target ends as exactly one writer's complete folder.
     */
    private void putInPlace(List<Path> asides) throws IOException {
        for (int attempt = 0; attempt < PUBLISH_ATTEMPTS; attempt++) {
            if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS) || OutputPolicy.isEmptyFolder(target)) {
                if (tryMove(staging, target)) return;
                continue;
            }
            if (!overwrite)
                throw new UserError(target + ": was written by another process while this one ran; left as it is, nothing written (--overwrite replaces it)");
            if (!FolderRecord.isPresent(target))
                throw new UserError(target + ": was replaced by a folder palimpsest did not write while this one ran; left as it is, nothing written");
            Path old = TempPaths.sibling(target, TempPaths.Kind.OLD);
            Cleanup.register(old);
            try {
                TempPaths.move(target, old);
            } catch (NoSuchFileException e) {
                Cleanup.done(old);
                continue;
            }
            asides.add(old);
            Failpoints.reach(Failpoints.MOVED_ASIDE);
            try {
                if (tryMove(staging, target)) return;
            } catch (IOException | RuntimeException e) {
                // Put the last complete version back before reporting.
                if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                    TempPaths.move(old, target);
                    asides.remove(old);
                    Cleanup.done(old);
                }
                throw e;
            }
        }
        throw new UserError(target + ": other processes kept replacing it; nothing written");
    }

    private static boolean tryMove(Path from, Path to) throws IOException {
        try {
            TempPaths.move(from, to);
            return true;
        } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
            return false;
        }
    }

    /** Deletes the staging folder unless it was published. */
    @Override
    public void close() {
        if (published) return;
        try {
            AtomicFiles.deleteTree(staging);
        } catch (IOException e) {
            // Swept later.
        }
        Cleanup.done(staging);
    }

    /** fsync of every file and folder under {@code root}, so a power cut cannot publish a folder of holes. */
    static void syncTree(Path root) throws IOException {
        List<Path> all;
        try (Stream<Path> s = Files.walk(root)) {
            all = s.toList();
        }
        for (Path p : all) if (Files.isRegularFile(p)) sync(p);
        for (Path p : all) if (Files.isDirectory(p)) sync(p);
    }

    static void sync(Path p) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            if (!Files.isDirectory(p)) throw e; // some file systems cannot sync a folder
        }
    }

    static String reason(IOException e) {
        String m = e.getMessage();
        if (e instanceof java.nio.file.FileSystemException f && f.getReason() != null) m = f.getReason();
        if (e instanceof java.nio.file.AccessDeniedException) m = "permission denied";
        if (e instanceof NoSuchFileException) m = "no such file or folder";
        if (e instanceof FileAlreadyExistsException) m = "a file is in the way";
        return m == null ? e.getClass().getSimpleName() : m;
    }

    private static long megabytes(long bytes) {
        return (bytes + (1 << 20) - 1) >> 20;
    }
}
