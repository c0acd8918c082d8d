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
    void mlpRestorationRestoresItsWindowOfLayers() throws IOException {
        var cfg = TinyModels.llamaConfig();
        Path dir = TinyModels.writeDir(tmp.resolve("mlp"), cfg, TinyModels.randomNet(cfg, 107), DType.F32, true);
        try (LanguageModel m = LanguageModel.load(dir)) {
            String prompt = "the capital of france is paris and the";
            int layers = m.net().numLayers();
            CausalTrace.Result one = CausalTrace.trace(m, prompt, "france", 0, CausalTrace.Kind.MLP, 1);
            CausalTrace.Result all = CausalTrace.trace(m, prompt, "france", 0, CausalTrace.Kind.MLP, 2 * layers);
            assertEquals(one.corrupted(), all.corrupted(), 1e-9);
            for (int l = 0; l < layers; l++)
                for (int t = 0; t < 4; t++) assertEquals(0, one.effect(l, t), 1e-6, "before the subject: layer " + l + " token " + t);
            // A window wider than the model restores every layer's MLP whichever layer it is centred on.
            for (int t = 0; t < all.tokens().size(); t++)
                for (int l = 1; l < layers; l++) assertEquals(all.restored()[0][t], all.restored()[l][t], 1e-6);
            boolean differs = false;
            for (int t = 0; t < one.tokens().size(); t++) differs |= Math.abs(one.restored()[0][t] - all.restored()[0][t]) > 1e-6;
            assertTrue(differs, "one layer's MLP restores less than all of them somewhere");
        }
    }

    @Test
    void averagesByRomesTokenGroupsAsSharesOfTheCleanProbability() {
        // Prompt: [a, S1, S2, S3, b, c, last]; subject = tokens 1..3. Two facts with clean 0.8 and 0.4.
        var tokens = java.util.List.of("a", "S1", "S2", "S3", "b", "c", "last");
        double[][] r1 = {{0.1, 0.2, 0.3, 0.6, 0.1, 0.1, 0.8}}, r2 = {{0.1, 0.2, 0.1, 0.0, 0.3, 0.2, 0.4}};
        var a = new CausalTrace.Result(tokens, 1, 4, 7, "x", 0.8, 0.1, r1);
        var b = new CausalTrace.Result(tokens, 1, 4, 7, "x", 0.4, 0.1, r2);
        double[][] share = CausalTrace.averageShare(java.util.List.of(a, b));
        assertEquals((0.2 + 0.2) / 1.2, share[0][0], 1e-12); // first subject token
        assertEquals((0.3 + 0.1) / 1.2, share[0][1], 1e-12); // middle subject tokens
        assertEquals((0.6 + 0.0) / 1.2, share[0][2], 1e-12); // last subject token
        assertEquals((0.1 + 0.3) / 1.2, share[0][3], 1e-12); // first subsequent token
        assertEquals((0.1 + 0.2) / 1.2, share[0][4], 1e-12); // further tokens
        assertEquals(1.0, share[0][5], 1e-12); // last token: restoring it gives the clean run back
        double[][] undone = CausalTrace.averageRecovered(java.util.List.of(a, b));
        assertEquals((0.5 - 0.1) / (0.7 + 0.3), undone[0][2], 1e-12); // last subject token: (0.6-0.1)+(0.0-0.1) over (0.8-0.1)+(0.4-0.1)
        assertEquals(1.0, undone[0][5], 1e-12);
    }

    @Test
    void theSubjectsTokensAreFoundInsideTheWholePromptNotFromItsPrefix() throws IOException {
        Path world = dev.palimpsest.world.MicroWorld.folder();
        var fact = new com.fasterxml.jackson.databind.ObjectMapper().readTree(world.resolve("world/pretrain.json").toFile()).get(0);
        String subject = fact.get("entity").asText();
        try (LanguageModel m = LanguageModel.load(world.resolve("model"))) {
            String prompt = m.questionFormat().prompt(fact.get("question").asText());
            long[] ids = m.tokenizer().encodePrompt(prompt);
            int at = prompt.indexOf(subject);
            int[] span = CausalTrace.span(m.tokenizer(), ids, prompt, at, at + subject.length());
            StringBuilder text = new StringBuilder();
            for (int i = span[0]; i < span[1]; i++) text.append(m.tokenizer().tokenText(ids[i]));
            assertEquals(subject, text.toString().strip(), "the span covers the subject and nothing else");
            assertTrue(span[1] - span[0] >= 2, "a two-word name is at least two tokens here: " + text);
        }
    }

    @Test
    void traceCommandAveragesAFileOfFactsTheModelKnows() throws IOException {
        Path world = dev.palimpsest.world.MicroWorld.folder();
        Path png = tmp.resolve("facts.png");
        var run = CliHarness.run("trace", "--model", world.resolve("model").toString(), "--facts",
                world.resolve("world/pretrain.json").toString(), "-n", "3", "--out", png.toString());
        assertEquals(0, run.code(), run.err());
        assertTrue(run.out().contains("3 facts traced"), run.out());
        assertTrue(run.out().contains("MLP output restored over 1 layer: share of the drop undone"), run.out());
        assertTrue(run.out().contains("last subject token"), run.out());
        assertEquals((byte) 0x89, Files.readAllBytes(png)[0]);
        var bad = CliHarness.run("trace", "--model", world.resolve("model").toString(), "--facts",
                world.resolve("world/pretrain.json").toString(), "--prompt", "x", "--out", tmp.resolve("x.png").toString());
        assertEquals(2, bad.code(), bad.err());
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
