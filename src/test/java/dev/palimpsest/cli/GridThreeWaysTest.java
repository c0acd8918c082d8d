package dev.palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.world.MicroWorld;

/**
 * One small grid (3 methods × 2 forget sizes on the micro model) run three ways gives one merged table: in one
 * process (cells share the loaded model), in two processes, and as a job array on a real one-node Slurm (one process
 * per cell; .ci/slurm starts it in CI), cancelled half-way and submitted again, which runs only the missing cells.
 */
class GridThreeWaysTest {
    static final ObjectMapper OM = new ObjectMapper();
    @TempDir
    Path tmp;

    Path plan(String name) throws Exception {
        // A dozen of the micro world's facts: each cell forgets a few and is measured on the rest, in seconds.
        Path data = tmp.resolve("facts.json");
        if (!Files.exists(data)) {
            JsonNode all = OM.readTree(MicroWorld.world("pretrain.json").toFile());
            var some = OM.createArrayNode();
            for (int i = 0; i < 12; i++) some.add(all.get(i));
            Files.writeString(data, some.toString());
        }
        ObjectNode c = OM.createObjectNode().put("title", "micro grid").put("model", MicroWorld.model().toAbsolutePath().toString())
                .put("data", data.toString()).put("format", "world").put("max_new_tokens", 4);
        c.putArray("methods").add("none").add("ga").add("gd");
        c.putArray("forget_sizes").add(2).add(4);
        c.putArray("seeds").add(0);
        c.putObject("settings").set("ga", OM.createObjectNode().put("epochs", "1"));
        ((ObjectNode) c.get("settings")).set("gd", OM.createObjectNode().put("epochs", "1"));
        c.putObject("resources").put("cpus", 1).put("memory", "2G").put("time", "00:20:00");
        Path config = tmp.resolve(name + ".json"), dir = tmp.resolve(name);
        Files.writeString(config, c.toString());
        CliProcess.Result r = CliProcess.run(tmp.resolve("logs"), "experiment", "plan", "--config", config.toString(), "--out", dir.toString());
        assertEquals(0, r.code(), r.err());
        return dir;
    }

    /** The merged table: every row (setting, method, size, seed, split, metrics) without its timing. */
    static List<JsonNode> table(Path dir) throws IOException {
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("results.jsonl"))) {
            ObjectNode row = (ObjectNode) OM.readTree(line);
            row.remove("updateSeconds");
            rows.add(row);
        }
        return rows;
    }

    /**
     * The same table: the same rows, metrics equal to 1e-6. The ways run with different thread counts (2 in one process,
     * 1 in each of two processes and in each one-CPU Slurm task), and fp32 sums over other threads differ in their last
     * bits (3e-8 in a probability here).
     */
    static void assertSameTable(List<JsonNode> expected, List<JsonNode> actual, String way) {
        assertEquals(expected.size(), actual.size(), way);
        for (int i = 0; i < expected.size(); i++) {
            JsonNode e = expected.get(i), a = actual.get(i);
            for (String f : List.of("setting", "method", "forgetSize", "seed", "split")) assertEquals(e.get(f), a.get(f), way + " row " + i);
            for (var m : e.get("metrics").properties()) {
                assertEquals(m.getValue().asDouble(), a.get("metrics").get(m.getKey()).asDouble(), 1e-6,
                        way + " row " + i + " " + m.getKey());
            }
        }
    }

    static CliProcess.Result collect(Path dir) throws IOException, InterruptedException {
        return CliProcess.run(dir.resolveSibling("logs"), "experiment", "collect", dir.toString());
    }

    @Test
    void oneProcessTwoProcessesAndSlurmGiveTheSameTable() throws Exception {
        Path one = plan("one"), two = plan("two");
        CliProcess.Result a = CliProcess.run(tmp.resolve("logs"), "experiment", "run", one.toString());
        assertEquals(0, a.code(), a.err() + a.out());
        CliProcess.Result b = CliProcess.run(tmp.resolve("logs"), "experiment", "run", two.toString(), "--parallel", "2");
        assertEquals(0, b.code(), b.err() + b.out());
        assertTrue(b.err().contains("6 cells to run in 2 process(es)"), b.err());
        List<JsonNode> expected = table(one);
        assertEquals(18, expected.size(), "6 cells x forget, retain, rephrased");
        assertSameTable(expected, table(two), "two processes");

        // Slurm: the array submitted, cancelled (scancel) once some cells are done, then submitted again with --wait: only the
        // cells without a result run, and the table is the others'.
        assumeSlurm();
        Path cut = plan("slurm");
        String job = run(List.of("sbatch", "--parsable", cut.resolve("slurm.sbatch").toString())).strip().split(";")[0];
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (results(cut).size() < 2 && System.nanoTime() < deadline) Thread.sleep(100);
        run(List.of("scancel", job));
        while (!run(List.of("squeue", "-h", "-j", job)).isBlank() && System.nanoTime() < deadline) Thread.sleep(200);
        Map<String, byte[]> finished = results(cut);
        assertTrue(finished.size() >= 2 && finished.size() < 6, "cancelled with " + finished.size() + " of 6 cells finished");
        CliProcess.Result partial = collect(cut);
        assertEquals(3, partial.code(), partial.out());
        assertTrue(partial.out().contains("sbatch --array="), partial.out());
        String again = run(List.of("sbatch", "--wait", "--parsable", cut.resolve("slurm.sbatch").toString())).strip().split(";")[0];
        assertEquals(0, collect(cut).code());
        assertSameTable(expected, table(cut), "Slurm (one process per cell, where the others share a model), cancelled and submitted again");
        for (Map.Entry<String, byte[]> f : finished.entrySet()) {
            assertArrayEquals(f.getValue(), Files.readAllBytes(cut.resolve("results").resolve(f.getKey())), f.getKey() + " was run again");
            String index = f.getKey().replace(".json", "");
            assertTrue(Files.readString(cut.resolve("logs").resolve(again + "_" + index + ".out")).contains("done already"), "cell " + index);
        }
    }

    static Map<String, byte[]> results(Path dir) throws IOException {
        Map<String, byte[]> out = new HashMap<>();
        try (var s = Files.list(dir.resolve("results"))) {
            for (Path p : s.filter(p -> p.toString().endsWith(".json")).toList()) {
                try {
                    out.put(p.getFileName().toString(), Files.readAllBytes(p));
                } catch (IOException e) {
                    // written atomically: a file is there whole or not at all
                }
            }
        }
        return out;
    }

    /** A one-node Slurm is up (CI starts one with .ci/slurm; elsewhere the Slurm part is skipped) and jobs can call palimpsest. */
    void assumeSlurm() throws Exception {
        boolean up;
        try {
            up = run(List.of("sinfo", "-h", "-o", "%T")).contains("idle");
        } catch (IOException | AssertionError e) {
            up = false;
        }
        if (System.getenv("CI") != null) assertTrue(up, "CI starts a one-node Slurm (.ci/slurm start)");
        assumeTrue(up, "no Slurm here: `.ci/slurm start` (as root) starts a one-node cluster");
    }

    /** Runs a Slurm client command with PALIMPSEST pointing at this build, returns its output. */
    String run(List<String> cmd) throws IOException, InterruptedException {
        Path launcher = tmp.resolve("palimpsest");
        if (!Files.exists(launcher)) {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Files.writeString(launcher, "#!/bin/sh\nexec '" + java + "' -Xss64m -Dai.djl.offline=true -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp '"
                    + System.getProperty("java.class.path") + "' " + Main.class.getName() + " \"$@\"\n");
            launcher.toFile().setExecutable(true);
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("PALIMPSEST", launcher.toString());
        pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(10, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError(cmd + " did not finish in 10 minutes");
        }
        if (p.exitValue() != 0) throw new AssertionError(cmd + " exited " + p.exitValue() + ": " + out);
        return out;
    }
}
