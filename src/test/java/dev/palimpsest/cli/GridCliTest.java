package dev.palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.palimpsest.model.DType;
import dev.palimpsest.model.TinyModels;

/** Sweeps as grids of cells: plan, run-cell, run --parallel and collect, as separate processes, as a scheduler runs them. */
class GridCliTest {
    static final ObjectMapper OM = new ObjectMapper();
    @TempDir
    Path tmp;
    Path config, data;
    String qa;

    @BeforeEach
    void sweep() throws IOException {
        TinyModels.writeDir(tmp.resolve("m"), TinyModels.llamaConfig(), TinyModels.randomNet(TinyModels.llamaConfig(), 81), DType.F32, true);
        StringBuilder d = new StringBuilder("[");
        String[] words = {"red", "blue", "green", "one", "two", "three"};
        for (int i = 0; i < words.length; i++)
            d.append(i > 0 ? "," : "").append("{\"question\":\"the cat sat on the\",\"answer\":\"").append(words[i])
                    .append("\",\"paraphrased_question\":\"a cat sat on the\"}");
        qa = d.append("]").toString();
        data = tmp.resolve("qa.json");
        Files.writeString(data, qa);
        config = tmp.resolve("sweep.json");
        // 2 methods x 2 sizes x 2 seeds = 8 cells; ft changes weights, so a cell that reuses the model must undo it exactly.
        Files.writeString(config, """
                {"title": "grid", "model": "m", "data": "qa.json", "format": "tofu", "methods": ["none", "ft"], "forget_sizes": [2, 3],
                 "seeds": [0, 1], "settings": {"ft": {"epochs": "2", "lr": "1e-2"}}, "max_new_tokens": 2,
                 "resources": {"cpus": 3, "memory": "5G", "time": "00:10:00", "gpus": 1}}""");
    }

    static CliProcess.Result palimpsest(Path logs, String... args) throws IOException, InterruptedException {
        return CliProcess.run(logs, args);
    }

    @Test
    void planWritesTheCellsAndAJobArrayAndACellsResultIsWrittenOnceAndReused() throws Exception {
        Path grid = tmp.resolve("grid"), logs = tmp.resolve("logs");
        var plan = palimpsest(logs, "experiment", "plan", "--config", config.toString(), "--out", grid.toString());
        assertEquals(0, plan.code(), plan.err());
        assertTrue(plan.out().contains("8 cells (0 finished already)"), plan.out());
        String sbatch = Files.readString(grid.resolve("slurm.sbatch"));
        for (String line : List.of("#SBATCH --array=0-7", "#SBATCH --cpus-per-task=3", "#SBATCH --mem=5G", "#SBATCH --time=00:10:00",
                "#SBATCH --gres=gpu:1", "experiment run-cell " + grid.toAbsolutePath() + " --index \"$SLURM_ARRAY_TASK_ID\" --device cuda"))
            assertTrue(sbatch.contains(line), line + " in\n" + sbatch);
        JsonNode cell = OM.readTree(grid.resolve("cells/5.json").toFile());
        assertEquals("ft", cell.get("method").asText());
        assertEquals(tmp.resolve("m").toAbsolutePath().toString(), cell.get("model").asText());

        var run = palimpsest(logs, "experiment", "run-cell", grid.toString(), "--index", "1,5");
        assertEquals(0, run.code(), run.err());
        byte[] first = Files.readAllBytes(grid.resolve("results/5.json"));
        JsonNode r = OM.readTree(first);
        assertEquals(3, r.get("rows").size(), "forget, retain, rephrased");
        assertTrue(r.get("wall_seconds").asDouble() > 0 && r.get("peak_resident_bytes").asLong() > 0, r.toString());
        var again = palimpsest(logs, "experiment", "run-cell", grid.toString(), "--index", "5");
        assertEquals(0, again.code(), again.err());
        assertTrue(again.err().contains("cell 5 (grid, ft, forget 2, seed 1): done already"), again.err());
        assertArrayEquals(first, Files.readAllBytes(grid.resolve("results/5.json")));

        // Re-planning a changed sweep keeps the results of the cells that did not change, and only those.
        Files.writeString(config, Files.readString(config).replace("\"epochs\": \"2\"", "\"epochs\": \"3\""));
        var replan = palimpsest(logs, "experiment", "plan", "--config", config.toString(), "--out", grid.toString());
        assertTrue(replan.out().contains("8 cells (1 finished already)"), replan.out());
        assertEquals(2, palimpsest(logs, "experiment", "run-cell", grid.toString(), "--index", "9").code(), "no cell 9");
    }

    @Test
    void collectListsMissingAndFailedCellsAndHowToResubmitThemAndRunFinishesTheGrid() throws Exception {
        Path grid = tmp.resolve("grid"), logs = tmp.resolve("logs");
        assertEquals(0, palimpsest(logs, "experiment", "plan", "--config", config.toString(), "--out", grid.toString()).code());
        assertEquals(0, palimpsest(logs, "experiment", "run-cell", grid.toString(), "--index", "0-2").code());
        // The data changed after planning: the cells that run now refuse it, each leaving its reason.
        Files.writeString(data, qa.replace("red", "pink"));
        var failed = palimpsest(logs, "experiment", "run-cell", grid.toString(), "--index", "4,5");
        assertEquals(1, failed.code(), failed.err());
        assertTrue(Files.readString(grid.resolve("results/4.error")).contains("changed since the grid was planned"));
        var collect = palimpsest(logs, "experiment", "collect", grid.toString());
        assertEquals(3, collect.code(), collect.err());
        assertTrue(collect.out().contains("3 of 8 cells finished, 3 missing, 2 failed"), collect.out());
        assertTrue(collect.out().contains("missing: 3,6-7"), collect.out());
        assertTrue(collect.out().contains("failed 5: "), collect.out());
        assertTrue(collect.out().contains("sbatch --array=3-7 " + grid.toAbsolutePath().resolve("slurm.sbatch")), collect.out());
        assertEquals(9, Files.readAllLines(grid.resolve("results.jsonl")).size(), "the finished cells' rows are reported already");

        Files.writeString(data, qa);
        var run = palimpsest(logs, "experiment", "run", grid.toString(), "--parallel", "2");
        assertEquals(0, run.code(), run.err() + run.out());
        assertTrue(run.err().contains("5 cells to run in 2 process(es)"), run.err());
        assertTrue(run.out().contains("8 of 8 cells finished, 0 missing, 0 failed"), run.out());
        assertFalse(Files.exists(grid.resolve("results/4.error")), "a cell that succeeds drops its old error");
        assertEquals(24, Files.readAllLines(grid.resolve("results.jsonl")).size());
        assertTrue(Files.isRegularFile(grid.resolve("report.md")));
        assertEquals(9, Files.readAllLines(grid.resolve("cells.csv")).size());
    }

    @Test
    void aGridOverTwoModelsReportsEachAsItsOwnSetting() throws Exception {
        TinyModels.writeDir(tmp.resolve("m2"), TinyModels.llamaConfig(), TinyModels.randomNet(TinyModels.llamaConfig(), 82), DType.F32, true);
        Files.writeString(config, Files.readString(config).replace("\"model\": \"m\"", "\"models\": [\"m\", \"m2\"]")
                .replace("\"forget_sizes\": [2, 3]", "\"forget_sizes\": [2]").replace("\"seeds\": [0, 1]", "\"seeds\": [0]"));
        Path grid = tmp.resolve("two");
        CliRun r = CliRun.of("experiment", "--config", config.toString(), "--out", grid.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("4 of 4 cells finished"), r.out());
        assertTrue(r.out().contains("## grid on m (2 forget samples)") && r.out().contains("## grid on m2 (2 forget samples)"), r.out());
        assertEquals(tmp.resolve("m2").toAbsolutePath().toString(), OM.readTree(grid.resolve("cells/3.json").toFile()).get("model").asText());
    }

    @Test
    void badGridInputGetsOneLine() throws Exception {
        Path logs = tmp.resolve("logs");
        Files.writeString(tmp.resolve("bad.json"), Files.readString(config).replace("\"5G\"", "\"lots\""));
        var r = palimpsest(logs, "experiment", "plan", "--config", tmp.resolve("bad.json").toString(), "--out", tmp.resolve("g").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("'resources.memory': \"lots\" is not like 16G"), r.err());
        Files.writeString(tmp.resolve("bad2.json"), Files.readString(config).replace("\"title\"", "\"tittle\""));
        r = palimpsest(logs, "experiment", "plan", "--config", tmp.resolve("bad2.json").toString(), "--out", tmp.resolve("g").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown field 'tittle'"), r.err());
        r = palimpsest(logs, "experiment", "collect", tmp.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("not a planned grid"), r.err());
        Files.writeString(tmp.resolve("x.txt"), "something else");
        r = palimpsest(logs, "experiment", "plan", "--config", config.toString(), "--out", tmp.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("not empty and not a planned grid"), r.err());
    }
}
