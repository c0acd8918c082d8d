package dev.palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;

import dev.palimpsest.world.DefaultModel;

/** `update` measures whether its own requests took, records it, and warns when most did not, naming the likely cause. */
class UpdateChecksCliTest {
    @TempDir
    Path tmp;
    static JsonNode world;
    static final ObjectMapper OM = new ObjectMapper();

    @BeforeAll
    static void model() throws IOException {
        DefaultModel.ensure(0, new PrintWriter(new StringWriter()));
        world = OM.readTree(DefaultModel.folder(0).resolve("world").resolve("pretrain.json").toFile());
    }

    /** Three of the world's facts as ZsRE edits to another fact's answer, the entity as the subject. */
    Path edits() throws IOException {
        ArrayNode edits = OM.createArrayNode();
        for (int i = 0; i < 3; i++) {
            JsonNode q = world.get(3 * i), loc = world.get(20 + i);
            edits.addObject().put("src", q.get("question").asText()).put("subject", q.get("entity").asText())
                    .put("alt", q.get("perturbed_answer").get(0).asText()).put("loc", loc.get("question").asText())
                    .put("loc_ans", loc.get("answer").asText()).putArray("answers").add(q.get("answer").asText());
        }
        Path file = tmp.resolve("edits.json");
        Files.writeString(file, edits.toString());
        return file;
    }

    JsonNode checks(Path out) throws IOException {
        return OM.readTree(out.resolve(UpdateCommand.RECORD).toFile()).get("checks");
    }

    @Test
    void aNoOpIsReportedAsOne() throws IOException {
        ArrayNode forgets = OM.createArrayNode();
        for (int i = 0; i < 3; i++) forgets.add(world.get(i));
        Path file = tmp.resolve("forget.json"), out = tmp.resolve("none");
        Files.writeString(file, forgets.toString());
        var run = CliHarness.run("update", "--model", "default", "--method", "none", "--forget", file.toString(), "--format", "world",
                "--out", out.toString());
        assertEquals(0, run.code(), run.err());
        assertTrue(run.out().contains("0 of 3 forgets took"), run.out());
        assertTrue(run.err().contains("warning: fewer than half of the requests took"), run.err());
        assertEquals(0.0, checks(out).get("forget_success").asDouble(), 0);
    }

    @Test
    void memitAtTheSubjectWarnsAboutTheLocusAndAtThePromptsEndTakes() throws IOException {
        // On this model keys at the entity's last token hardly flip its facts (1 of 3 here); at the prompt's end they do.
        Path edits = edits(), atSubject = tmp.resolve("subject");
        var run = CliHarness.run("update", "--model", "default", "--method", "memit", "--edit", edits.toString(), "--format", "zsre",
                "--out", atSubject.toString());
        assertEquals(0, run.code(), run.err());
        List<String> warnings = run.err().lines().filter(l -> l.startsWith("warning:")).toList();
        assertEquals(1, warnings.size(), run.err());
        assertTrue(warnings.get(0).contains("edit locus"), warnings.get(0));
        assertTrue(checks(atSubject).get("edit_success").asDouble() < 0.5, checks(atSubject).toString());

        // Keys at the prompt's last token: the edits take (3 of 3 here).
        Path atEnd = tmp.resolve("end");
        run = CliHarness.run("update", "--model", "default", "--method", "memit", "--edit", edits.toString(), "--format", "zsre",
                "--set", "position=last", "--out", atEnd.toString());
        assertEquals(0, run.code(), run.err());
        assertFalse(run.err().contains("warning:"), run.err());
        assertTrue(checks(atEnd).get("edit_success").asDouble() >= 2 / 3.0, checks(atEnd).toString());
        assertTrue(run.out().contains("of 3 edits took"), run.out());
    }
}
