package dev.palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.UserError;
import dev.palimpsest.io.Failpoints;
import dev.palimpsest.io.FolderRecord;
import dev.palimpsest.io.FolderSnapshot;
import dev.palimpsest.model.DType;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.Scorer;
import dev.palimpsest.model.TinyModels;
import dev.palimpsest.tensor.Tensors;

/**
 * What palimpsest promises about a user's files, checked with real processes: killed at any point of a
 * save, stopped by a signal, racing a reader or another writer, or running out of room, the output
 * folder holds one complete version (weights and record from the same run), and no temporary folder
 * outlives the next command.
 */
class SafeOutputsProcessTest {
    @TempDir
    static Path tmp;
    /** Two versions of one model, big enough (4 MB) that a save takes a moment to write and sync. */
    static Path modelA, modelB, forget;
    static String digestA, digestB;

    static final String PROMPT = "the capital of france is", TARGET = "paris . the end";

    @BeforeAll
    static void models() throws IOException {
        ObjectNode cfg = TinyModels.llamaConfig();
        cfg.put("hidden_size", 128).put("intermediate_size", 512).put("num_hidden_layers", 4).put("num_key_value_heads", 4);
        modelA = TinyModels.writeDir(tmp.resolve("A"), cfg, TinyModels.randomNet(cfg, 1), DType.F32, true);
        modelB = TinyModels.writeDir(tmp.resolve("B"), cfg, TinyModels.randomNet(cfg, 2), DType.F32, true);
        digestA = digest(modelA);
        digestB = digest(modelB);
        forget = tmp.resolve("forget.json");
        Files.writeString(forget, "[{\"question\": \"the capital of france\", \"answer\": \"paris\"}]");
    }

    static String[] update(Path model, Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("update", "--model", model.toString(), "--method", "none", "--forget",
                forget.toString(), "--format", "tofu", "--prompt-template", "{question}", "--out", out.toString()));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    /** A digest of a model's weights as loaded (so it names the version whatever file layout holds it). */
    static String digest(Path dir) {
        try (LanguageModel m = LanguageModel.load(dir); PointerScope s = new PointerScope()) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Map.Entry<String, Tensor> e : m.net().parameters().entrySet()) {
                md.update(e.getKey().getBytes());
                float[] f = Tensors.toFloats(e.getValue());
                ByteBuffer b = ByteBuffer.allocate(4 * f.length);
                b.asFloatBuffer().put(f);
                md.update(b);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The version at {@code out}: the folder is complete (its record lists every file with its size), its
     * weights are A's or B's, and its update record names the model the weights came from. Loading also
     * puts back an old folder that a writer killed between its two renames left aside.
     */
    static String version(Path out) throws IOException {
        String d = digest(out);
        assertTrue(d.equals(digestA) || d.equals(digestB), "the weights at " + out + " are neither A's nor B's: a mix");
        try (FolderSnapshot snap = FolderSnapshot.open(out, "a model directory")) {
            assertTrue(snap.record() != null, "published folders carry their record");
        }
        JsonNode rec = TinyModels.JSON.readTree(out.resolve("palimpsest_update.json").toFile());
        String source = rec.get("model").asText();
        assertEquals(d.equals(digestA) ? modelA.toString() : modelB.toString(), source, "weights and record come from one run");
        return d.equals(digestA) ? "A" : "B";
    }

    /** Hidden temporary siblings of outputs in {@code dir}. */
    static List<Path> temporaries(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().contains(".palimpsest-")).toList();
        }
    }

    /** The staging folder of the process with this pid holds the weights: the save has begun. */
    static boolean saving(Path parent, long pid) throws IOException {
        for (Path p : temporaries(parent))
            if (p.getFileName().toString().contains("." + pid + ".") && Files.exists(p.resolve("model.safetensors"))) return true;
        return false;
    }

    static void awaitSave(Path parent, CliProcess p) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (p.alive() && !saving(parent, p.pid()) && System.nanoTime() < deadline) Thread.sleep(2);
    }

    @Test
    void killedAtRandomPointsOfTwentySavesTheOutputIsTheOldOrTheNewModel() throws Exception {
        Path parent = Files.createDirectories(tmp.resolve("kill")), logs = tmp.resolve("logs-kill");
        int lanes = 2, saves = 20;
        for (int lane = 0; lane < lanes; lane++) assertEquals(0, CliRun.of(update(modelA, parent.resolve("out" + lane))).code());
        // A save of this model takes about 50 ms to write and sync and the process about 150 ms more to end: each kill
        // lands at a random moment of the first 250 ms after the weights appear in the staging folder.
        int window = 250;
        // Each lane replaces its folder with the other version, again and again, and is killed at a random moment of
        // the save; the lanes run side by side, so the machine is as busy as under a real workload.
        AtomicInteger newer = new AtomicInteger(), older = new AtomicInteger();
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        List<Thread> threads = new ArrayList<>();
        for (int lane = 0; lane < lanes; lane++) {
            Path out = parent.resolve("out" + lane);
            int count = saves / lanes + (lane < saves % lanes ? 1 : 0);
            Random rnd = new Random(15 + lane);
            threads.add(new Thread(() -> {
                try {
                    String now = version(out);
                    for (int i = 0; i < count; i++) {
                        String target = now.equals("A") ? "B" : "A";
                        CliProcess p = CliProcess.start(logs, List.of(), update(target.equals("A") ? modelA : modelB, out, "--overwrite"));
                        awaitSave(parent, p);
                        Thread.sleep(rnd.nextInt(window + 1));
                        p.kill();
                        p.waitFor();
                        String v = version(out);
                        assertTrue(v.equals(now) || v.equals(target));
                        (v.equals(target) ? newer : older).incrementAndGet();
                        now = v;
                    }
                } catch (Throwable t) {
                    failures.add(t);
                }
            }));
        }
        threads.forEach(Thread::start);
        for (Thread t : threads) t.join();
        if (!failures.isEmpty()) throw new AssertionError(failures.peek());
        System.out.printf("%d killed saves: %d left the new model, %d the old one%n", saves, newer.get(), older.get());
        assertEquals(saves, newer.get() + older.get());
        assertTrue(older.get() > 0, "some kills must land before the save completes");
        // The next command sweeps what the killed ones left.
        assertEquals(0, CliRun.of(update(modelA, parent.resolve("out0"), "--overwrite")).code());
        assertEquals(List.of(), temporaries(parent));
    }

    @Test
    void dyingAtEveryStepOfTheProtocolLeavesTheOldOrTheNewModel() throws Exception {
        Path parent = Files.createDirectories(tmp.resolve("failpoints")), logs = tmp.resolve("logs-failpoints");
        // Where the process dies (as kill -9 would, no hooks) and what the folder must then hold.
        Map<String, String> expected = Map.of(Failpoints.STAGED, "A", Failpoints.RECORDED, "A", Failpoints.MOVED_ASIDE, "A",
                Failpoints.PUBLISHED, "B");
        List<String> points = List.of(Failpoints.STAGED, Failpoints.RECORDED, Failpoints.MOVED_ASIDE, Failpoints.PUBLISHED);
        // Each in a folder of its own: a later process would sweep an earlier one's leftovers.
        for (String point : points) assertEquals(0, CliRun.of(update(modelA, parent.resolve(point).resolve("out"))).code());
        List<CliProcess> ps = new ArrayList<>();
        for (String point : points)
            ps.add(CliProcess.start(logs, List.of("-Dpalimpsest.failpoint=" + point), update(modelB, parent.resolve(point).resolve("out"), "--overwrite")));
        for (CliProcess p : ps) {
            CliProcess.Result r = p.waitFor();
            assertEquals(137, r.code(), r.err());
        }
        for (String point : points) {
            Path out = parent.resolve(point).resolve("out");
            assertTrue(!temporaries(out.getParent()).isEmpty(), point + ": a process that dies leaves its temporaries");
            assertEquals(point.equals(Failpoints.MOVED_ASIDE), !Files.exists(out), point + ": only a death between the two renames leaves no folder");
            assertEquals(expected.get(point), version(out), point);
            // The next command that writes there sweeps the dead writer's temporary.
            assertEquals(0, CliRun.of(update(modelA, out, "--overwrite")).code());
            assertEquals(List.of(), temporaries(out.getParent()), point);
        }
    }

    @Test
    void readersRacingReplacementsAlwaysGetOneWholeVersion() throws Exception {
        Path parent = Files.createDirectories(tmp.resolve("race")), logs = tmp.resolve("logs-race"), out = parent.resolve("out");
        assertEquals(0, CliRun.of(update(modelA, out)).code());
        float[] inA = score(modelA), inB = score(modelB);
        String[] score = {"score", "--model", out.toString(), "--prompt", PROMPT, "--target", TARGET, "--json"};
        CliProcess refA = CliProcess.start(logs, List.of(), "score", "--model", modelA.toString(), "--prompt", PROMPT, "--target", TARGET, "--json");
        CliProcess refB = CliProcess.start(logs, List.of(), "score", "--model", modelB.toString(), "--prompt", PROMPT, "--target", TARGET, "--json");
        String procA = refA.waitFor().out(), procB = refB.waitFor().out();
        AtomicBoolean reading = new AtomicBoolean(true);
        AtomicInteger replacements = new AtomicInteger(), reads = new AtomicInteger();
        ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
        // The writer replaces the folder back to back, alternating B and A, through the update command.
        Thread writer = new Thread(() -> {
            while (reading.get() || replacements.get() < 20) {
                CliRun r = CliRun.of(update(replacements.get() % 2 == 0 ? modelB : modelA, out, "--overwrite"));
                if (r.code() != 0) wrong.add("writer: " + r.err());
                replacements.incrementAndGet();
            }
        });
        Thread reader = new Thread(() -> {
            while (reading.get()) {
                try {
                    Thread.sleep(20);
                    float[] s = score(out);
                    if (!java.util.Arrays.equals(s, inA) && !java.util.Arrays.equals(s, inB)) wrong.add("in-process read " + java.util.Arrays.toString(s));
                    reads.incrementAndGet();
                } catch (UserError | IOException e) {
                    wrong.add("in-process read failed: " + e.getMessage());
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        writer.start();
        reader.start();
        int processes = 0;
        try {
            // Two real score processes at once, each loading the folder while it is being replaced.
            CliProcess a = CliProcess.start(logs, List.of(), score), b = CliProcess.start(logs, List.of(), score);
            for (CliProcess p : List.of(a, b)) {
                CliProcess.Result r = p.waitFor();
                processes++;
                if (r.code() != 0 || !(r.out().equals(procA) || r.out().equals(procB))) wrong.add("score process: " + r.code() + " " + r.out() + r.err());
            }
        } finally {
            reading.set(false);
            writer.join();
            reader.join();
        }
        System.out.printf("race: %d score processes and %d in-process reads during %d replacements%n", processes, reads.get(), replacements.get());
        assertEquals(List.of(), List.copyOf(wrong));
        assertTrue(replacements.get() >= 20 && reads.get() >= 20 && processes == 2, replacements + " replacements, " + reads + " reads");
        version(out);
        assertEquals(List.of(), temporaries(parent));
    }

    @Test
    void twoConcurrentWritersEndWithOneConsistentModelAndRecord() throws Exception {
        Path parent = Files.createDirectories(tmp.resolve("two")), logs = tmp.resolve("logs-two"), out = parent.resolve("out");
        // To a new path: both may pass the up-front check; the one that publishes second is refused without --overwrite.
        CliProcess a = CliProcess.start(logs, List.of(), update(modelA, out));
        CliProcess b = CliProcess.start(logs, List.of(), update(modelB, out));
        CliProcess.Result ra = a.waitFor(), rb = b.waitFor();
        List<Integer> codes = new ArrayList<>(List.of(ra.code(), rb.code()));
        codes.sort(null);
        assertTrue(codes.equals(List.of(0, 2)), "codes " + codes + ": " + ra.err() + rb.err());
        String loser = ra.code() == 2 ? ra.err() : rb.err();
        assertEquals(1, CliProcess.visibleLines(loser).size(), loser);
        assertTrue(loser.contains(out.toString()), loser);
        assertEquals(ra.code() == 0 ? "A" : "B", version(out));
        // Both with --overwrite: both succeed, and the folder is one of them, weights and record alike.
        a = CliProcess.start(logs, List.of(), update(modelA, out, "--overwrite"));
        b = CliProcess.start(logs, List.of(), update(modelB, out, "--overwrite"));
        ra = a.waitFor();
        rb = b.waitFor();
        assertEquals(0, ra.code(), ra.err());
        assertEquals(0, rb.code(), rb.err());
        version(out);
        assertEquals(List.of(), temporaries(parent));
    }

    @Test
    void sigtermRemovesItsTemporaryFolderAndKeepsTheOldModel() throws Exception {
        Path parent = Files.createDirectories(tmp.resolve("term")), logs = tmp.resolve("logs-term"), out = parent.resolve("out");
        assertEquals(0, CliRun.of(update(modelA, out)).code());
        // Stopped while it computes: the staging folder exists from the start.
        CliProcess p = CliProcess.start(logs, List.of(), "update", "--model", modelB.toString(), "--method", "ga", "--set", "epochs=1000",
                "--set", "retain_weight=0", "--forget", forget.toString(), "--format", "tofu", "--out", out.toString(), "--overwrite");
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (p.alive() && temporaries(parent).isEmpty() && System.nanoTime() < deadline) Thread.sleep(5);
        Thread.sleep(300);
        p.terminate();
        CliProcess.Result r = p.waitFor();
        assertEquals(143, r.code(), r.err());
        assertEquals(List.of(), temporaries(parent), "the shutdown hook removed the staging folder");
        assertEquals("A", version(out));
    }

    @Test
    void aWriteThatFailsMidwayIsOneErrorLineAndKeepsTheOldModel() throws Exception {
        Path parent = Files.createDirectories(tmp.resolve("fsize")), logs = tmp.resolve("logs-fsize"), out = parent.resolve("out");
        assertEquals(0, CliRun.of(update(modelA, out)).code());
        // Files may not grow past 1 MB in this process (as on a full disk, the write fails part way).
        CliProcess.Result r = CliProcess.start(logs, List.of("bash", "-c", "ulimit -f 1024; exec \"$@\"", "palimpsest"), List.of(),
                update(modelB, out, "--overwrite")).waitFor();
        assertEquals(2, r.code(), r.err());
        List<String> lines = CliProcess.visibleLines(r.err());
        assertEquals(1, lines.size(), r.err());
        assertTrue(lines.get(0).contains(out.toString()) && lines.get(0).contains("File too large"), lines.get(0));
        assertEquals("A", version(out));
        assertEquals(List.of(), temporaries(parent));
    }

    @Test
    void aFullOrReadOnlyFileSystemIsReportedBeforeTheCompute() throws Exception {
        Path mount = Files.createDirectories(tmp.resolve("small"));
        Process m = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mount.toString()).start();
        assumeTrue(m.waitFor() == 0, "needs permission to mount a small tmpfs");
        try {
            Path logs = tmp.resolve("logs-small");
            long t0 = System.nanoTime();
            CliProcess.Result r = CliProcess.run(logs, "update", "--model", modelB.toString(), "--method", "ga", "--set", "epochs=1000",
                    "--set", "retain_weight=0", "--forget", forget.toString(), "--format", "tofu", "--out", mount.resolve("out").toString());
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertEquals(2, r.code(), r.err());
            assertTrue(r.err().contains("needs about 6 MB but only 2 MB are free"), r.err());
            assertTrue(seconds < 30, "refused before 1000 epochs of training, in " + seconds + " s");
            assertEquals(List.of(), temporaries(mount));
            assertTrue(!Files.exists(mount.resolve("out")));
            // The same file system read-only: refused up front too, naming the folder.
            assertEquals(0, new ProcessBuilder("mount", "-o", "remount,ro", mount.toString()).start().waitFor());
            r = CliProcess.run(logs, update(modelB, mount.resolve("out")));
            assertEquals(2, r.code(), r.err());
            assertTrue(r.err().contains(mount + "/out: cannot write in " + mount + " (Read-only file system)"), r.err());
        } finally {
            new ProcessBuilder("umount", mount.toString()).start().waitFor();
        }
    }

    @Test
    void progressBarsGoAwayOnErrorLeavingOneLine() throws Exception {
        Path logs = tmp.resolve("logs-bars");
        // Bars forced on (stderr is a file here). ROME draws the statistics' bar, then fails inside its edit loop:
        // forget requests have no subject to locate.
        Path corpus = Files.writeString(tmp.resolve("corpus.txt"), "the cat sat on the mat\nthe river flows through the city\n");
        CliProcess.Result r = CliProcess.start(logs, List.of("-Dpalimpsest.progress=on"), "update", "--model", modelA.toString(),
                "--method", "rome", "--set", "position=subject", "--set", "mom2_tokens=2000", "--set", "corpus=" + corpus, "--forget", forget.toString(),
                "--format", "tofu", "--prompt-template", "{question}", "--out", tmp.resolve("bars-out").toString()).waitFor();
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("rome edits"), "bars were drawn: " + r.err());
        List<String> lines = CliProcess.visibleLines(r.err());
        // What stays: the note of which corpus the statistics read, and the error; no remnant of a bar.
        assertEquals("palimpsest: rome: position=subject needs requests with a subject", lines.get(lines.size() - 1), r.err());
        for (String l : lines.subList(0, lines.size() - 1)) assertTrue(l.startsWith("rome: keys' second moment at layer "), r.err());
        assertTrue(!Files.exists(tmp.resolve("bars-out")));
    }

    static float[] score(Path dir) throws IOException {
        try (LanguageModel m = LanguageModel.load(dir); PointerScope s = new PointerScope()) {
            return Scorer.score(m, List.of(PROMPT), List.of(TARGET), 1).get(0).logprobs();
        }
    }
}
