package dev.palimpsest.method;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.cli.CliHarness;
import dev.palimpsest.model.DType;
import dev.palimpsest.model.TinyModels;

/** `--preset easyedit` resolves to EasyEdit's published numbers, and every preset value is a valid setting of its method. */
class PresetTest {
    @TempDir
    Path tmp;

    @Test
    void readmeShowsThePresetTable() throws IOException {
        for (String name : Preset.names())
            assertTrue(Files.readString(Path.of("README.md")).contains(Preset.markdown(name)),
                    "README's preset table differs from `palimpsest methods --preset " + name + "`; paste its output");
    }

    @Test
    void openUnlearningsRunsAreTheSameOnEveryModel() {
        // trainer/NPO.yaml: beta 0.1, alpha 1; finetune.yaml: 8 per device x 4 accumulation; tofu/default.yaml: lr 1e-5, 10 epochs.
        var npo = Preset.find("open-unlearning", "npo", "qwen2").under(java.util.Map.of("epochs", "2"));
        assertEquals("0.1", npo.get("beta"));
        assertEquals("1", npo.get("retain_weight"));
        assertEquals("1e-5", npo.get("lr"));
        assertEquals("32", npo.get("batch"));
        assertEquals("2", npo.get("epochs"));
        assertEquals("0", Preset.find("open-unlearning", "dpo", "gpt2").settings().get("refusal_weight"));
    }

    @Test
    void everyPresetValueIsAValidSetting() {
        for (Preset p : Preset.ALL) Settings.check(MethodRegistry.get(p.method()), p.settings());
        assertTrue(Preset.ALL.stream().anyMatch(p -> p.method().equals("wise") && p.modelType().equals("gpt2")));
    }

    Path edit() throws IOException {
        return Files.writeString(tmp.resolve("edit.json"), """
                [{"src": "the capital of france is", "subject": "france", "alt": "red", "answers": ["paris"],
                  "loc": "a cat sat on the", "loc_ans": "mat"}]""");
    }

    JsonNode settings(Path out) throws IOException {
        return TinyModels.JSON.readTree(out.resolve("palimpsest_update.json").toFile()).get("settings");
    }

    @Test
    void romeOnATinyLlamaGetsEasyEditsLlamaSettings() throws IOException {
        ObjectNode cfg = TinyModels.llamaConfig();
        cfg.put("num_hidden_layers", 6); // EasyEdit edits Llama-2-7B's layer 5
        Path model = TinyModels.writeDir(tmp.resolve("llama"), cfg, TinyModels.randomNet(cfg, 5), DType.F32, true), out = tmp.resolve("out");
        var run = CliHarness.run("update", "--model", model.toString(), "--method", "rome", "--preset", "easyedit", "--set", "v_steps=3",
                "--edit", edit().toString(), "--format", "zsre", "--prompt-template", "{question}", "--out", out.toString());
        assertEquals(0, run.code(), run.err());
        assertTrue(run.err().contains("preset easyedit: rome on llama from EasyEdit hparams/ROME/llama-7b.yaml"), run.err());
        JsonNode s = settings(out);
        // hparams/ROME/llama-7b.yaml: layers [5], v_lr 5e-1, v_weight_decay 1e-3, clamp_norm_factor 4, kl_factor 0.0625,
        // mom2_adjustment false (so no corpus is needed), fact_token subject_last; v_num_grad_steps 25, overridden here.
        assertEquals(5, s.get("layer").asInt());
        assertEquals(0.5, s.get("v_lr").asDouble());
        assertEquals(1e-3, s.get("v_weight_decay").asDouble());
        assertEquals(4.0, s.get("clamp_norm").asDouble());
        assertEquals(0.0625, s.get("kl_factor").asDouble());
        assertEquals("false", s.get("mom2_adjustment").asText());
        assertEquals("subject", s.get("position").asText());
        assertEquals(3, s.get("v_steps").asInt(), "an explicit --set wins over the preset");
    }

    @Test
    void memitOnATinyGpt2GetsEasyEditsGpt2XlSettings() throws IOException {
        Path model = TinyModels.writeDir(tmp.resolve("gpt2"), TinyModels.gpt2Config(), TinyModels.randomNet(TinyModels.gpt2Config(), 6),
                DType.F32, true), out = tmp.resolve("out");
        Path corpus = Files.writeString(tmp.resolve("corpus.txt"), "the cat sat on the mat\na river flows through the city\n");
        var run = CliHarness.run("update", "--model", model.toString(), "--method", "memit", "--preset", "easyedit", "--set", "layers=0-1",
                "--set", "v_steps=2", "--set", "corpus=" + corpus, "--edit", edit().toString(), "--format", "zsre",
                "--prompt-template", "{question}", "--out", out.toString());
        assertEquals(0, run.code(), run.err());
        JsonNode s = settings(out);
        // hparams/MEMIT/gpt2-xl.yaml: clamp_norm_factor 0.75, v_lr 5e-1, v_weight_decay 0.5, kl_factor 0.0625,
        // mom2_update_weight 20000, fact_token subject_last (its layers 13-17 do not exist here: overridden).
        assertEquals(0.75, s.get("clamp_norm").asDouble());
        assertEquals(0.5, s.get("v_lr").asDouble());
        assertEquals(0.5, s.get("v_weight_decay").asDouble());
        assertEquals(20000.0, s.get("mom2_update_weight").asDouble());
        assertEquals("subject", s.get("position").asText());
        assertEquals("0-1", s.get("layers").asText());
    }

    @Test
    void aMethodOrModelTypeWithoutAPresetIsOneClearError() throws IOException {
        ObjectNode cfg = TinyModels.qwen2Config();
        Path model = TinyModels.writeDir(tmp.resolve("qwen"), cfg, TinyModels.randomNet(cfg, 7), DType.F32, true);
        var run = CliHarness.run("update", "--model", model.toString(), "--method", "rome", "--preset", "easyedit",
                "--edit", edit().toString(), "--format", "zsre", "--out", tmp.resolve("out").toString());
        assertEquals(2, run.code());
        assertTrue(run.err().contains("--preset easyedit has no settings for rome on model_type 'qwen2'"), run.err());
        var unknown = CliHarness.run("update", "--model", model.toString(), "--method", "rome", "--preset", "nope",
                "--edit", edit().toString(), "--format", "zsre", "--out", tmp.resolve("out2").toString());
        assertEquals(2, unknown.code());
        assertTrue(unknown.err().contains("--preset 'nope' is not one of easyedit"), unknown.err());
    }
}
