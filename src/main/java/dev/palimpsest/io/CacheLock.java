package dev.palimpsest.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An exclusive lock on a cache folder ({@code .lock} inside it), held while one process builds what the
 * folder caches, so that another process wanting the same thing waits and then finds it built.
 */
public final class CacheLock implements AutoCloseable {
    private final FileChannel channel;
    private final FileLock lock;

    private CacheLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    public static CacheLock of(Path folder) throws IOException {
        Files.createDirectories(folder);
        FileChannel ch = FileChannel.open(folder.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        try {
            return new CacheLock(ch, ch.lock());
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    @Override
    public void close() throws IOException {
        lock.release();
        channel.close();
    }
}
