package dev.palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;

import dev.palimpsest.world.MicroWorld;

class AnalyzeCliTest {
    @TempDir
    Path tmp;

    /** Learning eight answers while unlearning the same eight: every step's gradients conflict; the histogram is written. */
    @Test
    void conflictsOfLearningAndUnlearningTheSameAnswers() throws IOException {
        Path file = eightFacts(), png = tmp.resolve("plots").resolve("conflicts.png");
        CliRun r = CliRun.of("analyze", "conflicts", "--model", MicroWorld.model().toString(), "--edit", file.toString(), "--forget",
                file.toString(), "--format", "world", "--batch-size", "8", "--epochs", "3", "--out", png.toString());
        assertEquals(0, r.code(), r.err());
        Matcher m = Pattern.compile("(\\d+) steps: cosine\\(editing, unlearning\\) mean (-?[0-9.]+); ([0-9.]+) % of the steps conflict").matcher(r.out());
        assertTrue(m.find(), r.out());
        assertEquals(3, Integer.parseInt(m.group(1)));
        assertTrue(Double.parseDouble(m.group(2)) < -0.5, "strongly opposed: " + r.out());
        assertEquals(100.0, Double.parseDouble(m.group(3)), 1e-9);
        assertTrue(Files.size(png) > 1000, "a PNG histogram");
    }

    /**
     * The same eight answers learned and unlearned: the shared memory conflicts at every step; at τ = 0 LOKA's conflict score
     * splits every cluster into task-specific memories, so no step conflicts inside a memory after the split.
     */
    @Test
    void afterLokasSplitNoMemoryTrainsOnConflictingGradients() throws IOException {
        Path file = eightFacts();
        CliRun r = CliRun.of("analyze", "conflicts", "--model", MicroWorld.model().toString(), "--edit", file.toString(), "--forget",
                file.toString(), "--format", "world", "--batch-size", "8", "--epochs", "3", "--after-split", "--tau", "0", "--out", tmp.resolve("c.png").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("100.0 % of the steps conflict (cosine < 0)"), r.out());
        Matcher m = Pattern.compile("after LOKA's split: (\\d+) memories \\((\\d+) with both kinds\\), (\\d+) steps: ([0-9.]+) % of the steps conflict").matcher(r.out());
        assertTrue(m.find(), r.out());
        assertTrue(Integer.parseInt(m.group(1)) >= 2, r.out());
        assertEquals(0, Integer.parseInt(m.group(2)), r.out());
        assertTrue(Integer.parseInt(m.group(3)) > 0, r.out());
        assertEquals(0.0, Double.parseDouble(m.group(4)), 1e-9, r.out());
        CliRun bad = CliRun.of("analyze", "conflicts", "--model", MicroWorld.model().toString(), "--edit", file.toString(), "--forget",
                file.toString(), "--format", "world", "--forget-loss", "dpo");
        assertTrue(bad.code() != 0 && bad.err().contains("--forget-loss"), bad.err());
    }

    /** The micro world's first eight facts, as a world-format file. */
    private Path eightFacts() throws IOException {
        ObjectMapper json = new ObjectMapper();
        JsonNode facts = json.readTree(MicroWorld.world("pretrain.json").toFile());
        ArrayNode eight = json.createArrayNode();
        for (int i = 0; i < 8; i++) eight.add(facts.get(i));
        Path file = tmp.resolve("eight.json");
        Files.writeString(file, json.writeValueAsString(eight));
        return file;
    }

    @Test
    void missingForgetFileIsOneClearError() {
        CliRun r = CliRun.of("analyze", "conflicts", "--model", MicroWorld.model().toString(), "--edit", "nope.json", "--forget",
                "nope.json", "--format", "world");
        assertTrue(r.code() != 0);
        assertTrue(r.err().contains("nope.json"), r.err());
    }
}
