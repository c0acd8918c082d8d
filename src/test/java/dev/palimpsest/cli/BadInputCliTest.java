package dev.palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.DType;
import dev.palimpsest.model.SafeTensorsWriter;
import dev.palimpsest.model.TinyModels;
import dev.palimpsest.tensor.Tensors;

/** Every kind of broken model directory ends in one line naming the file, exit code 2, nothing on stdout. */
class BadInputCliTest {
    @TempDir
    Path tmp;
    Path dir;
    CausalLM net;

    @BeforeEach
    void writeGoodModel() throws IOException {
        net = TinyModels.randomNet(TinyModels.llamaConfig(), 61);
        dir = TinyModels.writeDir(tmp.resolve("model"), TinyModels.llamaConfig(), net, DType.F32, true);
    }

    CliRun score() {
        return CliRun.of("score", "--model", dir.toString(), "--prompt", "the capital of", "--target", "paris", "--json");
    }

    void assertFails(String mustMention) throws IOException {
        long before;
        try (var s = Files.walk(tmp)) {
            before = s.count();
        }
        CliRun r = score();
        assertEquals(2, r.code(), "exit code; stderr: " + r.err());
        assertEquals("", r.out(), "nothing on stdout");
        String err = r.err().strip();
        assertEquals(1, err.lines().count(), "one line: " + err);
        assertTrue(err.contains(mustMention), "should mention '" + mustMention + "': " + err);
        assertFalse(err.contains("Exception") || err.contains("\tat "), "no stack trace: " + err);
        try (var s = Files.walk(tmp)) {
            assertEquals(before, s.count(), "nothing written");
        }
    }

    Path weights() {
        return dir.resolve("model.safetensors");
    }

    @Test
    void goodDirectoryScores() {
        assertEquals(0, score().code());
    }

    @Test
    void truncatedWeights() throws IOException {
        byte[] all = Files.readAllBytes(weights());
        Files.write(weights(), Arrays.copyOf(all, all.length - 100));
        assertFails("model.safetensors");
    }

    @Test
    void headerThatLiesAboutSizes() throws IOException {
        rewriteHeader(h -> h.replaceFirst("\"shape\":\\[40,16\\]", "\"shape\":[40,17]"));
        assertFails("model.safetensors");
    }

    @Test
    void headerWithUnknownDtype() throws IOException {
        rewriteHeader(h -> h.replaceFirst("\"F32\"", "\"F8\" "));
        assertFails("unsupported dtype");
    }

    @Test
    void headerWithOffsetsPastTheEnd() throws IOException {
        rewriteHeader(h -> h.replaceFirst("\"data_offsets\":\\[0,", "\"data_offsets\":[9,"));
        assertFails("model.safetensors");
    }

    @Test
    void absurdHeaderLength() throws IOException {
        byte[] all = Files.readAllBytes(weights());
        ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1L << 40);
        Files.write(weights(), all);
        assertFails("absurd");
    }

    @Test
    void missingTensor() throws IOException {
        writeWithout("model.layers.1.mlp.up_proj.weight", null);
        assertFails("missing tensor 'model.layers.1.mlp.up_proj.weight'");
    }

    @Test
    void misShapedTensor() throws IOException {
        writeWithout("model.norm.weight", Tensors.ones(org.bytedeco.pytorch.global.torch.ScalarType.Float, 15));
        assertFails("'model.norm.weight' has shape [15]");
    }

    @Test
    void pickleWeightsAreRefusedWithHowToConvert() throws IOException {
        Files.move(weights(), dir.resolve("pytorch_model.bin"));
        assertFails("pytorch_model.bin (a Python pickle, which can run arbitrary code when loaded)");
        assertTrue(score().err().contains("save_pretrained"), "says how to convert");
    }

    @Test
    void unknownArchitecture() throws IOException {
        ObjectNode cfg = TinyModels.llamaConfig();
        cfg.putArray("architectures").add("MambaForCausalLM");
        Files.writeString(dir.resolve("config.json"), cfg.toString());
        assertFails("unsupported architecture 'MambaForCausalLM'");
    }

    @Test
    void configMissingAField() throws IOException {
        ObjectNode cfg = TinyModels.llamaConfig();
        cfg.remove("hidden_size");
        Files.writeString(dir.resolve("config.json"), cfg.toString());
        assertFails("config.json: field 'hidden_size': missing");
    }

    @Test
    void missingTokenizer() throws IOException {
        Files.delete(dir.resolve("tokenizer.json"));
        assertFails("missing tokenizer.json");
    }

    @Test
    void missingDirectory() throws IOException {
        dir = tmp.resolve("nope");
        assertFails("not a model directory");
    }

    @Test
    void aDeviceThatIsNotThereIsOneLine() {
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.palimpsest.tensor.ComputeDevice.cudaDevices() == 0, "this machine has a CUDA device");
        for (String[] c : new String[][] {{"cuda", "-Pcuda"}, {"cuda:3", "-Pcuda"}, {"tpu", "--device must be auto, cpu, cuda or cuda:N"}}) {
            CliRun r = CliRun.of("score", "--device", c[0], "--model", dir.toString(), "--prompt", "the capital of", "--target", "paris");
            assertEquals(2, r.code(), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains(c[1]), r.err());
        }
        assertEquals(0, CliRun.of("score", "--device", "cpu", "--model", dir.toString(), "--prompt", "the capital of", "--target", "paris").code());
    }

    @Test
    void unknownOptionIsOneLine() {
        CliRun r = CliRun.of("score", "--modle", "x");
        assertEquals(2, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }

    /** Rewrites the JSON header in place, keeping its length (pads with spaces). */
    void rewriteHeader(java.util.function.UnaryOperator<String> edit) throws IOException {
        byte[] all = Files.readAllBytes(weights());
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        int len = (int) b.getLong(0);
        String header = new String(all, 8, len, StandardCharsets.UTF_8);
        String edited = edit.apply(header);
        assertFalse(edited.equals(header), "the edit must change the header");
        byte[] e = edited.getBytes(StandardCharsets.UTF_8);
        assertTrue(e.length <= len);
        Arrays.fill(all, 8, 8 + len, (byte) ' ');
        System.arraycopy(e, 0, all, 8, e.length);
        Files.write(weights(), all);
    }

    void writeWithout(String name, Tensor replacement) throws IOException {
        Map<String, Tensor> w = new LinkedHashMap<>(net.parameters());
        if (replacement == null) w.remove(name);
        else w.put(name, replacement);
        SafeTensorsWriter.write(weights(), w, DType.F32, Map.of("format", "pt"));
    }
}
