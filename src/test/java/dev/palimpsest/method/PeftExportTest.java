package dev.palimpsest.method;

import dev.palimpsest.request.KnowledgeRequest;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.palimpsest.cli.CliHarness;
import dev.palimpsest.data.DataFormat;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.data.QaReader;
import dev.palimpsest.model.ForwardInput;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.PeftAdapter;
import dev.palimpsest.tensor.Tensors;
import dev.palimpsest.world.MicroWorld;

/** LoRA updates leave as PEFT adapter folders that load back onto the base model; memory methods say only palimpsest applies them. */
class PeftExportTest {
    @TempDir
    Path tmp;

    static float[] logits(LanguageModel m, String prompt) {
        try (PointerScope s = new PointerScope()) {
            long[] ids = m.tokenizer().encodePrompt(m.questionFormat().prompt(prompt));
            return Tensors.toFloats(m.net().logits(m.net().hidden(ForwardInput.of(Tensors.longs(ids, 1, ids.length)), null)));
        }
    }

    static double maxDiff(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
        return d;
    }

    @Test
    void anExportedAdapterReloadsWithIdenticalLogits() throws IOException {
        List<QaItem> pool = QaReader.read(MicroWorld.world("pretrain.json"), DataFormat.WORLD);
        String question = pool.get(0).question();
        Path adapter = tmp.resolve("adapter");
        float[] adapted;
        try (LanguageModel m = LanguageModel.load(MicroWorld.model())) {
            MethodRegistry.get("gd").apply(m, m.questionFormat(), List.of(new KnowledgeRequest(KnowledgeRequest.Kind.FORGET, question,
                    pool.get(0).answer(), "I don't know.", null)), pool.subList(1, 6),
                    Map.of("lora_rank", "4", "lr", "5e-3", "epochs", "1", TrainedUpdate.LORA_MERGE, "false"), 0);
            assertTrue(PeftAdapter.attached(m.net()), "lora_merge=false keeps the adapters attached");
            Files.createDirectories(adapter);
            PeftAdapter.write(adapter, m.net(), MicroWorld.model().toString());
            adapted = logits(m, question);
        }
        JsonNode cfg = new ObjectMapper().readTree(adapter.resolve(PeftAdapter.CONFIG).toFile());
        assertEquals("LORA", cfg.get("peft_type").asText());
        assertEquals(4, cfg.get("r").asInt());
        assertEquals(8.0, cfg.get("lora_alpha").asDouble());
        assertTrue(cfg.get("target_modules").size() > 0);
        try (LanguageModel base = LanguageModel.load(MicroWorld.model())) {
            float[] plain = logits(base, question);
            assertTrue(maxDiff(plain, adapted) > 1e-2, "the update changed the answer's logits");
            PeftAdapter.attach(adapter, base.net());
            assertArrayEquals(adapted, logits(base, question), 0f, "base + the exported adapter = the updated model, bit for bit");
        }
    }

    @Test
    void updateWritesTheMergedModelAndTheAdapterWhichScoresTheSame() throws IOException {
        List<QaItem> pool = QaReader.read(MicroWorld.world("pretrain.json"), DataFormat.WORLD);
        Path forget = tmp.resolve("forget.json");
        Files.writeString(forget, UnlearningMethodsTest.json(pool.subList(0, 3)));
        Path out = tmp.resolve("merged"), adapter = tmp.resolve("adapter");
        var run = CliHarness.run("update", "--model", MicroWorld.model().toString(), "--method", "ga", "--forget", forget.toString(),
                "--format", "tofu", "--set", "lora_rank=4", "--set", "lr=5e-3", "--set", "epochs=1", "--out", out.toString(),
                "--adapter-out", adapter.toString());
        assertEquals(0, run.code(), run.err());
        assertTrue(Files.isRegularFile(adapter.resolve(PeftAdapter.WEIGHTS)) && Files.isRegularFile(out.resolve("model.safetensors")));
        String q = pool.get(0).question();
        String[] score = {"score", "--prompt", q, "--target", " " + pool.get(0).answer(), "--chat", "--json"};
        var merged = CliHarness.run(concat(score, new String[] {"--model", out.toString()}));
        var viaAdapter = CliHarness.run(concat(score, new String[] {"--model", MicroWorld.model().toString(), "--adapter", adapter.toString()}));
        assertEquals(0, merged.code(), merged.err());
        assertEquals(0, viaAdapter.code(), viaAdapter.err());
        JsonNode a = new ObjectMapper().readTree(merged.out()).get("logprobs"), b = new ObjectMapper().readTree(viaAdapter.out()).get("logprobs");
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++)
            assertEquals(a.get(i).asDouble(), b.get(i).asDouble(), 1e-3, "the merged model and base + adapter score the answer alike");
        var base = CliHarness.run(concat(score, new String[] {"--model", MicroWorld.model().toString()}));
        assertFalse(base.out().equals(viaAdapter.out()), "the adapter changes the scores");

        var noLora = CliHarness.run("update", "--model", MicroWorld.model().toString(), "--method", "ga", "--forget", forget.toString(),
                "--format", "tofu", "--out", tmp.resolve("x").toString(), "--adapter-out", tmp.resolve("y").toString());
        assertEquals(2, noLora.code());
        assertTrue(noLora.err().contains("lora_rank"), noLora.err());
        assertFalse(Files.exists(tmp.resolve("x")), "nothing written");
    }

    @Test
    void aMemoryMethodSaysOnlyPalimpsestAppliesItsUpdate() throws IOException {
        List<QaItem> pool = QaReader.read(MicroWorld.world("pretrain.json"), DataFormat.WORLD);
        Path forget = tmp.resolve("forget.json");
        Files.writeString(forget, UnlearningMethodsTest.json(pool.subList(0, 2)));
        var run = CliHarness.run("update", "--model", MicroWorld.model().toString(), "--method", "grace", "--forget", forget.toString(),
                "--format", "tofu", "--out", tmp.resolve("g").toString());
        assertEquals(0, run.code(), run.err());
        assertTrue(run.out().contains("only palimpsest applies it"), run.out());
    }

    static String[] concat(String[] a, String[] b) {
        String[] out = new String[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
