package dev.palimpsest.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.palimpsest.UserError;

/** The write protocol's parts in one JVM: publishing, the record, sweeping dead writers' leftovers, torn reads. */
class OutputFolderTest {
    @TempDir
    Path tmp;

    static Path publish(Path target, boolean overwrite, Map<String, String> files) {
        try (OutputFolder out = OutputFolder.prepare(target, overwrite, List.of())) {
            out.fill(dir -> {
                for (var e : files.entrySet()) Files.writeString(dir.resolve(e.getKey()), e.getValue());
            });
            out.publish("test");
        }
        return target;
    }

    @Test
    void aPublishedFolderCarriesARecordOfEveryFileWrittenLast() throws IOException {
        Path out = publish(tmp.resolve("out"), false, Map.of("a.txt", "alpha", "b.json", "{}"));
        FolderRecord r = FolderRecord.read(out);
        assertEquals(Map.of("a.txt", 5L, "b.json", 2L), r.files());
        assertEquals("test", r.kind());
        assertTrue(r.writer().startsWith("palimpsest "));
        try (var s = Files.list(tmp)) {
            assertEquals(List.of(out), s.toList(), "no temporary left beside it");
        }
    }

    @Test
    void overwritingKeepsTheOldFolderUntilTheNewOneIsInPlace() throws IOException {
        Path out = publish(tmp.resolve("out"), false, Map.of("v.txt", "one"));
        try (OutputFolder next = OutputFolder.prepare(out, true, List.of())) {
            next.fill(dir -> Files.writeString(dir.resolve("v.txt"), "two"));
            assertEquals("one", Files.readString(out.resolve("v.txt")), "the old version stays until publish");
            next.publish("test");
        }
        assertEquals("two", Files.readString(out.resolve("v.txt")));
        try (var s = Files.list(tmp)) {
            assertEquals(1, s.count());
        }
    }

    @Test
    void aStagingFolderThatIsNotPublishedIsRemoved() throws IOException {
        try (OutputFolder out = OutputFolder.prepare(tmp.resolve("out"), false, List.of())) {
            out.fill(dir -> Files.writeString(dir.resolve("half.txt"), "x"));
            assertTrue(Files.isDirectory(out.staging()));
        }
        assertFalse(Files.exists(tmp.resolve("out")));
        assertEquals(List.of(), list(tmp));
    }

    @Test
    void sweepingRemovesDeadWritersTemporariesAndRestoresAStrandedOldFolder() throws IOException {
        Path out = publish(tmp.resolve("out"), false, Map.of("v.txt", "one"));
        // A dead writer (no such pid) left its staging folder, and another one died between its two renames.
        Path staging = Files.createDirectories(tmp.resolve(".out.palimpsest-tmp." + host() + ".999999999.1"));
        Files.writeString(staging.resolve("v.txt"), "half");
        Path other = publish(tmp.resolve("other"), false, Map.of("v.txt", "kept"));
        Path stranded = tmp.resolve(".other.palimpsest-old." + host() + ".999999998.1");
        Files.move(other, stranded, StandardCopyOption.ATOMIC_MOVE);
        // And a live writer (this process) is in the middle of its own save.
        Path mine = Files.createDirectories(TempPaths.sibling(tmp.resolve("mine"), TempPaths.Kind.TMP));
        TempPaths.sweep(tmp);
        assertFalse(Files.exists(staging));
        assertEquals("kept", Files.readString(other.resolve("v.txt")), "the last complete version is back in place");
        assertTrue(Files.exists(mine), "a live writer's work is left alone");
        assertEquals("one", Files.readString(out.resolve("v.txt")));
    }

    @Test
    void aReaderPutsBackTheOldFolderOfAWriterThatDiedBetweenItsRenames() throws IOException {
        Path out = publish(tmp.resolve("out"), false, Map.of("v.txt", "one"));
        Files.move(out, tmp.resolve(".out.palimpsest-old." + host() + ".999999997.1"), StandardCopyOption.ATOMIC_MOVE);
        try (FolderSnapshot snap = FolderSnapshot.open(out, "a folder")) {
            assertArrayEquals("one".getBytes(), snap.bytes("v.txt"));
        }
    }

    @Test
    void aFileReplacedWhileTheFolderIsReadIsATornRead() throws IOException {
        Path out = publish(tmp.resolve("out"), false, Map.of("config.json", "{\"v\": 1}", "weights.json", "[1]"));
        try (FolderSnapshot snap = FolderSnapshot.open(out, "a folder")) {
            snap.bytes("config.json");
            Path next = Files.writeString(tmp.resolve("next.json"), "{\"v\": 2}");
            Files.move(next, out.resolve("config.json"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            assertThrows(FolderSnapshot.Torn.class, snap::verify);
        }
        // Deleting a folder under a reader that holds it open is no tear: the read went through the open handles.
        Path other = publish(tmp.resolve("other"), false, Map.of("config.json", "{\"v\": 3}"));
        try (FolderSnapshot snap = FolderSnapshot.open(other, "a folder")) {
            AtomicFiles.deleteTree(other);
            assertArrayEquals("{\"v\": 3}".getBytes(), snap.bytes("config.json"));
            snap.verify();
        }
    }

    @Test
    void aSecondWriterWithoutOverwriteIsRefusedAtPublishAndLeavesNothing() throws IOException {
        Path target = tmp.resolve("out");
        try (OutputFolder late = OutputFolder.prepare(target, false, List.of())) {
            publish(target, false, Map.of("v.txt", "first"));
            late.fill(dir -> Files.writeString(dir.resolve("v.txt"), "second"));
            UserError e = assertThrows(UserError.class, () -> late.publish("test"));
            assertTrue(e.getMessage().contains("written by another process while this one ran"), e.getMessage());
        }
        assertEquals("first", Files.readString(target.resolve("v.txt")));
        assertEquals(List.of(target), list(tmp));
    }

    static String host() {
        String name = TempPaths.sibling(Path.of("/x"), TempPaths.Kind.TMP).getFileName().toString();
        return name.split("\\.")[3];
    }

    static List<Path> list(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return s.toList();
        }
    }
}
