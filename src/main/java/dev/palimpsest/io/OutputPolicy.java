package dev.palimpsest.io;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

import dev.palimpsest.UserError;

/**
 * Where a command may write, decided before any compute. An output is a new path or an empty folder;
 * anything else needs {@code --overwrite}, which replaces only a folder palimpsest wrote (it has a
 * {@link FolderRecord}) or a single file. Never, even with {@code --overwrite}: the file-system root,
 * the working directory or a folder that contains it, and any guarded path (the input model, input data,
 * the cache), a folder that contains one, or a path inside a guarded folder.
 */
public final class OutputPolicy {
    private OutputPolicy() {}

    /** A path outputs must keep clear of, with what it is ("the input model"). */
    public record Guarded(Path path, String what) {}

    /** Checks a folder output; returns its absolute path. */
    public static Path checkFolder(Path target, boolean overwrite, List<Guarded> guarded) {
        Path t = canonical(target);
        refuseProtected(target, t, guarded);
        if (Files.isSymbolicLink(target.toAbsolutePath().normalize()))
            throw new UserError(target + ": is a symbolic link; give the folder itself");
        if (!Files.exists(t)) return t;
        if (!Files.isDirectory(t)) throw new UserError(target + ": is a file; a model or run folder would replace it");
        if (isEmptyFolder(t)) return t;
        if (!overwrite)
            throw new UserError(target + ": exists and is not empty; give a new path or an empty folder, or --overwrite to replace a folder palimpsest wrote");
        if (!FolderRecord.isPresent(t))
            throw new UserError(target + ": was not written by palimpsest (it has no " + FolderRecord.FILE
                    + "); --overwrite replaces only palimpsest's own folders, so it is left as it is");
        return t;
    }

    /** Checks a single-file output (a plot); returns its absolute path. */
    public static Path checkFile(Path target, boolean overwrite, List<Guarded> guarded) {
        Path t = canonical(target);
        refuseProtected(target, t, guarded);
        if (Files.isDirectory(t)) throw new UserError(target + ": is a folder; give a file name");
        if (Files.exists(t) && !overwrite) throw new UserError(target + ": exists; pass --overwrite to replace it");
        return t;
    }

    static void refuseProtected(Path given, Path t, List<Guarded> guarded) {
        if (t.getParent() == null) throw new UserError(given + ": is the root folder; refusing to write there");
        Path cwd = canonical(Path.of(""));
        if (t.equals(cwd)) throw new UserError(given + ": is the working directory; refusing to replace it");
        if (cwd.startsWith(t)) throw new UserError(given + ": contains the working directory; refusing to replace it");
        for (Guarded g : guarded) {
            Path p = canonical(g.path());
            if (t.equals(p)) throw new UserError(given + ": is " + g.what() + "; write the result somewhere else");
            if (p.startsWith(t)) throw new UserError(given + ": contains " + g.what() + " (" + g.path() + "); write the result somewhere else");
            if (t.startsWith(p) && Files.isDirectory(p))
                throw new UserError(given + ": is inside " + g.what() + " (" + g.path() + "); write the result somewhere else");
        }
    }

    static boolean isEmptyFolder(Path dir) {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) return false;
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            return !s.iterator().hasNext();
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * The absolute, normalised path with the symbolic links of its existing part resolved, so that two
     * spellings of one place compare equal.
     */
    public static Path canonical(Path p) {
        Path abs = p.toAbsolutePath().normalize();
        Deque<Path> rest = new ArrayDeque<>();
        Path existing = abs;
        while (existing != null && !Files.exists(existing)) {
            rest.push(existing.getFileName());
            existing = existing.getParent();
        }
        Path real;
        try {
            real = existing == null ? abs.getRoot() : existing.toRealPath();
        } catch (IOException e) {
            real = existing;
        }
        while (!rest.isEmpty()) real = real.resolve(rest.pop());
        return real;
    }
}
