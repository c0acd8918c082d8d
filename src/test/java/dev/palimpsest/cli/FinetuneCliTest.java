package dev.palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import dev.palimpsest.model.DType;
import dev.palimpsest.model.TinyModels;

/** `finetune` trains until the target or a plateau, and refuses to hand over a model that never learned the data. */
class FinetuneCliTest {
    @TempDir
    Path tmp;

    Path model() throws IOException {
        return TinyModels.writeDir(tmp.resolve("m"), TinyModels.llamaConfig(), TinyModels.randomNet(TinyModels.llamaConfig(), 81), DType.F32, true);
    }

    Path data() throws IOException {
        return Files.writeString(tmp.resolve("qa.json"), """
                [{"question": "the capital of france is", "answer": "paris"},
                 {"question": "who wrote the book ?", "answer": "a cat"},
                 {"question": "the river flows through the", "answer": "city"}]""");
    }

    static CliRun finetune(Path model, Path data, Path out, String... extra) {
        String[] base = {"finetune", "--model", model.toString(), "--data", data.toString(), "--format", "tofu",
                "--prompt-template", "{question}", "--batch-size", "1", "--out", out.toString()};
        String[] all = java.util.Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return CliRun.of(all);
    }

    @Test
    void belowTheTargetIsAnErrorAndNothingIsWritten() throws IOException {
        Path model = model(), data = data(), out = tmp.resolve("out");
        CliRun r = finetune(model, data, out, "--epochs", "1", "--max-epochs", "1", "--lr", "1e-7");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("did not learn the data: ROUGE-1 recall"), r.err());
        assertFalse(Files.exists(out), "no model is handed over");
        CliRun kept = finetune(model, data, out, "--epochs", "1", "--max-epochs", "1", "--lr", "1e-7", "--accept-below-target");
        assertEquals(0, kept.code(), kept.err());
        JsonNode rec = TinyModels.JSON.readTree(out.resolve("palimpsest_finetune.json").toFile());
        assertFalse(rec.get("reached_target").asBoolean());
    }

    @Test
    void aCycleThatEndsBelowTheTargetIsFollowedByAnother() throws IOException {
        Path model = model(), data = data(), out = tmp.resolve("out");
        // Cycles of two epochs (six steps) at 3e-3 cannot teach three answers to a random model; more cycles can.
        CliRun r = finetune(model, data, out, "--epochs", "2", "--max-epochs", "60", "--lr", "3e-3", "--target-rouge", "1.0");
        assertEquals(0, r.code(), r.err());
        JsonNode rec = TinyModels.JSON.readTree(out.resolve("palimpsest_finetune.json").toFile());
        assertTrue(rec.get("reached_target").asBoolean(), rec.toString());
        assertTrue(rec.get("cycles").asInt() > 1, rec.toString());
        assertTrue(r.err().contains("another cycle at peak lr"), r.err());
    }
}
