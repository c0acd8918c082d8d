package dev.palimpsest.method.locate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.palimpsest.UserError;
import dev.palimpsest.cli.CliHarness;
import dev.palimpsest.model.DType;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.TinyModels;

/** Invariants of causal tracing that hold for any model. */
class CausalTraceTest {
    @TempDir
    Path tmp;

    @Test
    void tracingInvariants() throws IOException {
        for (var cfg : new com.fasterxml.jackson.databind.node.ObjectNode[] {TinyModels.llamaConfig(), TinyModels.gpt2Config()}) {
            Path dir = TinyModels.writeDir(tmp.resolve(cfg.get("architectures").get(0).asText()), cfg,
                    TinyModels.randomNet(cfg, 101), DType.F32, true);
            try (LanguageModel m = LanguageModel.load(dir)) {
                CausalTrace.Result r = CausalTrace.trace(m, "the capital of france is paris and the", "france", 0);
                int subjectStart = 4; // <s> the capital of | france
                assertNotEquals(r.clean(), r.corrupted(), "the noise changes the prediction");
                for (int l = 0; l < r.restored().length; l++)
                    for (int t = 0; t < subjectStart; t++)
                        assertEquals(0, r.effect(l, t), 1e-6, "tokens before the subject never see the noise: layer " + l + " token " + t);
                int last = r.tokens().size() - 1;
                assertEquals(r.clean(), r.restored()[r.restored().length - 1][last], 1e-6,
                        "the last layer's state at the last token decides the output alone");
            }
        }
    }

    @Test
    void traceCommandWritesAHeatMapAndRejectsAMissingSubject() throws IOException {
        Path dir = TinyModels.writeDir(tmp.resolve("m"), TinyModels.llamaConfig(), TinyModels.randomNet(TinyModels.llamaConfig(), 103),
                DType.F32, true);
        Path png = tmp.resolve("trace.png");
        var run = CliHarness.run("trace", "--model", dir.toString(), "--prompt", "who wrote the book ?", "--subject", "book",
                "--out", png.toString());
        assertEquals(0, run.code(), run.err());
        assertTrue(run.out().contains("with the subject corrupted"), run.out());
        assertEquals((byte) 0x89, Files.readAllBytes(png)[0]);
        try (LanguageModel m = LanguageModel.load(dir)) {
            assertThrows(UserError.class, () -> CausalTrace.trace(m, "who wrote the book ?", "river", 0));
        }
    }
}
