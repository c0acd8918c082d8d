package dev.palimpsest.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.UserError;
import dev.palimpsest.tensor.Tensors;

class SaveLoadTest {
    @TempDir
    Path tmp;

    @Test
    void saveThenLoadIsBitExactForEveryFamily() throws IOException {
        for (ObjectNode cfg : new ObjectNode[] {TinyModels.llamaConfig(), TinyModels.qwen2Config(),
                TinyModels.tiedLlamaConfig(), TinyModels.gpt2Config(), TinyModels.qwen3Config(), TinyModels.gemmaConfig(),
                TinyModels.gemma2Config(), TinyModels.phi3Config(), TinyModels.phiConfig(), TinyModels.gptNeoxConfig(), TinyModels.gptjConfig()}) {
            CausalLM net = TinyModels.randomNet(cfg, 13);
            Path src = TinyModels.writeDir(tmp.resolve("src-" + cfg.get("architectures").get(0).asText() + cfg.hashCode()),
                    cfg, net, DType.F32, true);
            try (LanguageModel m = LanguageModel.load(src)) {
                Path out = tmp.resolve("saved-" + cfg.hashCode());
                m.save(out);
                try (LanguageModel back = LanguageModel.load(out)) {
                    assertEquals(m.net().parameters().keySet(), back.net().parameters().keySet());
                    for (var e : m.net().parameters().entrySet())
                        assertArrayEquals(Tensors.toFloats(e.getValue()),
                                Tensors.toFloats(back.net().parameter(e.getKey())), 0f, e.getKey());
                    assertTrue(Files.isRegularFile(out.resolve("tokenizer.json")));
                    assertTrue(Files.isRegularFile(out.resolve("tokenizer_config.json")));
                }
            }
        }
    }

    @Test
    void bf16WeightsLoadAsTheirFp32Values() throws IOException {
        CausalLM net = TinyModels.randomNet(TinyModels.llamaConfig(), 17);
        Path dir = TinyModels.writeDir(tmp.resolve("bf16"), TinyModels.llamaConfig(), net, DType.BF16, true);
        try (LanguageModel m = LanguageModel.load(dir); PointerScope s = new PointerScope()) {
            assertEquals(DType.BF16, m.storedAs());
            Tensor orig = net.parameter("model.layers.0.mlp.down_proj.weight");
            Tensor loaded = m.net().parameter("model.layers.0.mlp.down_proj.weight");
            float[] o = Tensors.toFloats(orig), l = Tensors.toFloats(loaded);
            for (int i = 0; i < o.length; i++) {
                // bf16 keeps the top 16 bits: round-to-nearest-even of the fp32 pattern.
                int bits = Float.floatToIntBits(o[i]);
                int rounded = (bits + 0x7FFF + ((bits >>> 16) & 1)) & 0xFFFF0000;
                assertEquals(Float.intBitsToFloat(rounded), l[i], 0f, "element " + i);
            }
        }
    }

    @Test
    void shardedCheckpointsAndUnprefixedGpt2NamesLoad() throws IOException {
        CausalLM net = TinyModels.randomNet(TinyModels.gpt2Config(), 19);
        Path dir = TinyModels.writeDir(tmp.resolve("gpt2-sharded"), TinyModels.gpt2Config(), net, DType.F32, false);
        Files.delete(dir.resolve("model.safetensors"));
        // Two shards, with names as the original GPT-2 checkpoints write them (no "transformer." prefix).
        Map<String, Tensor> a = new LinkedHashMap<>(), b = new LinkedHashMap<>();
        int i = 0;
        for (var e : net.parameters().entrySet()) (i++ % 2 == 0 ? a : b).put(e.getKey().replace("transformer.", ""), e.getValue());
        SafeTensorsWriter.write(dir.resolve("model-00001-of-00002.safetensors"), a, DType.F32, Map.of("format", "pt"));
        SafeTensorsWriter.write(dir.resolve("model-00002-of-00002.safetensors"), b, DType.F32, Map.of("format", "pt"));
        ObjectNode index = TinyModels.JSON.createObjectNode();
        ObjectNode map = index.putObject("weight_map");
        a.keySet().forEach(k -> map.put(k, "model-00001-of-00002.safetensors"));
        b.keySet().forEach(k -> map.put(k, "model-00002-of-00002.safetensors"));
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.toString());
        try (LanguageModel m = LanguageModel.load(dir)) {
            for (var e : net.parameters().entrySet())
                assertArrayEquals(Tensors.toFloats(e.getValue()), Tensors.toFloats(m.net().parameter(e.getKey())), 0f);
        }
    }

    @Test
    void saveFillsAnEmptyFolderRefusesAFullOneAndLeavesNoTemporaries() throws IOException {
        CausalLM net = TinyModels.randomNet(TinyModels.llamaConfig(), 23);
        Path src = TinyModels.writeDir(tmp.resolve("src"), TinyModels.llamaConfig(), net, DType.F32, true);
        Path empty = Files.createDirectories(tmp.resolve("empty")), full = Files.createDirectories(tmp.resolve("full"));
        Files.writeString(full.resolve("notes.txt"), "mine");
        try (LanguageModel m = LanguageModel.load(src)) {
            m.save(empty);
            UserError e = assertThrows(UserError.class, () -> m.save(full));
            assertTrue(e.getMessage().contains("exists and is not empty"), e.getMessage());
        }
        assertEquals("mine", Files.readString(full.resolve("notes.txt")));
        try (var list = Files.list(full)) {
            assertEquals(1, list.count(), "the user's folder is left as it was");
        }
        assertTrue(Files.isRegularFile(empty.resolve("palimpsest.json")), "the record marks the folder palimpsest's");
        try (var list = Files.list(tmp)) {
            assertEquals(0, list.filter(p -> p.getFileName().toString().startsWith(".")).count());
        }
        assertNotEquals(0, Files.size(empty.resolve("model.safetensors")));
    }
}
