package dev.palimpsest.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import dev.palimpsest.UserError;

/**
 * A folder opened for reading as one version. The folder itself is opened once and every file is
 * opened relative to that handle (openat), so a writer that swaps another folder in under the same
 * name cannot mix its files into this read; each file stays open (one handle) for as long as the
 * snapshot lives. {@link #verify} checks afterwards that no file was replaced or changed in place while
 * it was read; when one was, or a file vanished before it could be opened, the read is {@link Torn} and
 * the caller reads again. A folder with a {@link FolderRecord} is checked against it: a listed file missing or of the
 * wrong size is an error, as is a palimpsest detail record without the commit record.
 */
public final class FolderSnapshot implements AutoCloseable {
    /** The folder changed while it was read; read it again. */
    public static final class Torn extends UserError {
        public Torn(String message) {
            super(message);
        }
    }

    private record Fingerprint(Object key, long size, long modified) {
        static Fingerprint of(BasicFileAttributes a) {
            return new Fingerprint(a.fileKey(), a.size(), a.lastModifiedTime().toMillis());
        }
    }

    private final Path dir;
    private final DirectoryStream<Path> handle;
    private final Set<String> names;
    private final Map<String, FileChannel> channels = new LinkedHashMap<>();
    private final Map<String, Fingerprint> prints = new LinkedHashMap<>();
    private final Map<String, byte[]> contents = new LinkedHashMap<>();
    private FolderRecord record;

    private FolderSnapshot(Path dir, DirectoryStream<Path> handle, Set<String> names) {
        this.dir = dir;
        this.handle = handle;
        this.names = names;
    }

    /**
     * Opens {@code dir}. A folder that is missing because a writer is between its two renames is waited
     * for (briefly); one stranded by a writer that died there is restored first.
     */
    public static FolderSnapshot open(Path dir, String what) {
        if (!Files.isDirectory(dir)) TempPaths.awaitOrRestore(dir);
        if (!Files.isDirectory(dir)) throw new UserError(dir + ": not " + what);
        DirectoryStream<Path> ds;
        Set<String> names = new TreeSet<>();
        try {
            ds = Files.newDirectoryStream(dir);
        } catch (NoSuchFileException e) {
            throw new Torn("the folder was replaced while it was opened");
        } catch (IOException e) {
            throw new UserError(dir + ": cannot open (" + OutputFolder.reason(e) + ")");
        }
        FolderSnapshot snap = null;
        try {
            // Listing a secure stream lists the folder it holds open; a plain stream is used only for the names.
            for (Path p : ds) names.add(p.getFileName().toString());
            DirectoryStream<Path> handle = ds instanceof SecureDirectoryStream<Path> s ? s : null;
            if (handle == null) closeQuietly(ds);
            snap = new FolderSnapshot(dir, handle, names);
            snap.openAll();
            snap.checkRecord();
            return snap;
        } catch (RuntimeException e) {
            boolean current = snap == null || snap.isCurrent();
            if (snap != null) snap.close();
            else closeQuietly(ds);
            throw current || e instanceof Torn ? e : new Torn("the folder was replaced while it was read");
        }
    }

    /** The files a model folder is read from (others, such as PyTorch .bin weights, are left alone). */
    private static final java.util.regex.Pattern MODEL_FILE = java.util.regex.Pattern.compile(".*\\.(json|safetensors|jinja|txt|model)");

    /**
     * Opens every file of the folder that a model is read from at once, so that the whole version is held open within a moment of
     * opening the folder; a writer that deletes the folder afterwards cannot take a file from under the read.
     */
    private void openAll() {
        for (String name : names) {
            if (!MODEL_FILE.matcher(name).matches()) continue;
            try {
                BasicFileAttributes a = attributes(name);
                if (a.isRegularFile()) channel(name);
            } catch (NoSuchFileException e) {
                throw new Torn(name + " vanished while the folder was opened");
            } catch (IOException e) {
                throw new UserError(path(name) + ": cannot read (" + OutputFolder.reason(e) + ")");
            }
        }
    }

    /**
     * Whether the path still names the folder this snapshot holds. A writer that replaced it may have been
     * deleting the old one while it was listed or read, so what looks like a damaged folder is then a torn read.
     */
    public boolean isCurrent() {
        try {
            Object now = Files.readAttributes(dir, BasicFileAttributes.class).fileKey();
            Object held = handle instanceof SecureDirectoryStream<Path> s
                    ? s.getFileAttributeView(BasicFileAttributeView.class).readAttributes().fileKey() : now;
            return now != null && now.equals(held);
        } catch (IOException e) {
            return false;
        }
    }

    private void checkRecord() {
        if (names.contains(FolderRecord.FILE)) record = FolderRecord.parse(bytes(FolderRecord.FILE), path(FolderRecord.FILE));
        if (record == null) {
            for (String detail : DETAIL_RECORDS)
                if (names.contains(detail))
                    throw new UserError(dir + ": has " + detail + " but no " + FolderRecord.FILE
                            + ", so palimpsest never finished writing it; write it again");
            return;
        }
        record.difference(this::sizeOrMissing).ifPresent(d -> {
            throw new UserError(dir + ": incomplete: " + d + " (its " + FolderRecord.FILE + " lists every file it was written with)");
        });
    }

    /** The records commands write beside their results; alone, without the commit record, they mark an unfinished folder. */
    private static final Set<String> DETAIL_RECORDS = Set.of("palimpsest_update.json", "palimpsest_finetune.json");

    public Path dir() {
        return dir;
    }

    /** Where a file of the folder is, for messages. */
    public Path path(String name) {
        return dir.resolve(name);
    }

    public boolean has(String name) {
        return names.contains(name);
    }

    /** The record the folder was published with, or null for a folder palimpsest did not write. */
    public FolderRecord record() {
        return record;
    }

    /** The file, opened once through the folder's handle; kept open until {@link #close}. */
    public FileChannel channel(String name) {
        FileChannel ch = channels.get(name);
        if (ch != null) return ch;
        if (!names.contains(name)) throw new UserError(path(name) + ": missing");
        try {
            Fingerprint before = fingerprint(name);
            ch = handle instanceof SecureDirectoryStream<Path> s
                    ? (FileChannel) s.newByteChannel(Path.of(name), Set.of(StandardOpenOption.READ))
                    : FileChannel.open(dir.resolve(name), StandardOpenOption.READ);
            channels.put(name, ch);
            prints.put(name, before);
            return ch;
        } catch (NoSuchFileException e) {
            throw new Torn(name + " vanished while the folder was read");
        } catch (IOException e) {
            throw new UserError(path(name) + ": cannot read (" + OutputFolder.reason(e) + ")");
        }
    }

    /** A whole (small) file, read once however often it is asked for (tokenizer.json: by the tokenizer and for saving). */
    public byte[] bytes(String name) {
        byte[] known = contents.get(name);
        if (known != null) return known;
        FileChannel ch = channel(name);
        try {
            long size = ch.size();
            if (size > Integer.MAX_VALUE - 16) throw new UserError(path(name) + ": too large to read whole (" + size + " bytes)");
            ByteBuffer buf = ByteBuffer.allocate((int) size);
            long pos = 0;
            while (buf.hasRemaining()) {
                int n = ch.read(buf, pos);
                if (n < 0) throw new Torn(name + " shrank while it was read");
                pos += n;
            }
            contents.put(name, buf.array());
            return buf.array();
        } catch (IOException e) {
            throw new UserError(path(name) + ": cannot read (" + OutputFolder.reason(e) + ")");
        }
    }

    public String text(String name) {
        return new String(bytes(name), java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * Throws {@link Torn} when a file of this snapshot now has another file in its place, or was changed in
     * place, since it was opened: the files read may then come from two versions. A file that is merely gone
     * (a writer deleting the folder it replaced) is fine: it was read through its open handle.
     */
    public void verify() {
        for (Map.Entry<String, Fingerprint> e : prints.entrySet()) {
            Fingerprint now;
            try {
                now = fingerprint(e.getKey());
            } catch (NoSuchFileException x) {
                continue;
            } catch (IOException x) {
                throw new UserError(path(e.getKey()) + ": cannot read (" + OutputFolder.reason(x) + ")");
            }
            if (!now.equals(e.getValue())) throw new Torn(e.getKey() + " changed while the folder was read");
        }
    }

    private Fingerprint fingerprint(String name) throws IOException {
        return Fingerprint.of(attributes(name));
    }

    private BasicFileAttributes attributes(String name) throws IOException {
        return handle instanceof SecureDirectoryStream<Path> s
                ? s.getFileAttributeView(Path.of(name), BasicFileAttributeView.class).readAttributes()
                : Files.readAttributes(dir.resolve(name), BasicFileAttributes.class);
    }

    private long sizeOrMissing(String name) {
        if (name.contains("/")) {
            Path p = dir.resolve(name);
            try {
                return Files.isRegularFile(p) ? Files.size(p) : -1;
            } catch (IOException e) {
                return -1;
            }
        }
        if (!names.contains(name)) return -1;
        if (prints.containsKey(name)) return prints.get(name).size();
        try {
            return fingerprint(name).size();
        } catch (IOException e) {
            return -1;
        }
    }

    @Override
    public void close() {
        for (SeekableByteChannel ch : channels.values()) closeQuietly(ch);
        channels.clear();
        if (handle != null) closeQuietly(handle);
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            // Nothing was written through it.
        }
    }
}
