package dev.palimpsest.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import com.fasterxml.jackson.databind.JsonNode;

import dev.palimpsest.tensor.Tensors;

/**
 * Each family against an independent reference: {@code src/test/python/family_reference.py} (plain PyTorch
 * in float64, written from the families' equations, not transformers' code) drew a tiny checkpoint per
 * family and stored it with the reference's log-softmax rows; the runtime must reproduce every per-token
 * log-probability within 2e-4, and agree with itself across an incremental (KV-cached) pass.
 */
class FamilyReferenceTest {
    static final double TOLERANCE = 2e-4;
    /** The families with a stored reference (the others are checked against ReferenceTransformer). */
    static final List<String> FIXTURES = List.of("qwen3", "gemma", "gemma2", "phi3", "phi3-longrope", "phi3-longrope-short", "phi", "gptneox",
            "gptneox-sequential", "gptj");

    static java.util.stream.Stream<String> fixtures() {
        return FIXTURES.stream();
    }

    static Path fixture(String family) {
        return Path.of("src/test/resources/families", family);
    }

    static CausalLM load(String family) throws IOException {
        Path dir = fixture(family);
        ModelConfig config = ModelConfig.parse(TinyModels.JSON.readTree(Files.readString(dir.resolve("config.json"))), dir.resolve("config.json"));
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve("model.safetensors"))) {
            for (String name : f.entries().keySet()) tensors.put(name, f.load(name, null));
        }
        return CausalLM.create(config, tensors, dir.toString());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtures")
    void logProbabilitiesMatchTheIndependentReference(String family) throws IOException {
        JsonNode expected = TinyModels.JSON.readTree(Files.readString(fixture(family).resolve("expected.json")));
        long[] ids = new long[expected.get("ids").size()];
        for (int i = 0; i < ids.length; i++) ids[i] = expected.get("ids").get(i).asLong();
        CausalLM net = load(family);
        int vocab = net.config().vocabSize();
        try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            float[] got = Tensors.toFloats(net.forward(Tensors.longs(ids, 1, ids.length)).log_softmax(-1));
            double worst = 0, spread = 0;
            for (int t = 0; t < ids.length; t++)
                for (int v = 0; v < vocab; v++) {
                    double want = expected.get("logprobs").get(t).get(v).asDouble();
                    worst = Math.max(worst, Math.abs(got[t * vocab + v] - want));
                    spread = Math.max(spread, Math.abs(want + Math.log(vocab)));
                }
            assertTrue(spread > 0.5, family + ": the reference is too flat to tell anything apart (" + spread + ")");
            assertTrue(worst < TOLERANCE, family + ": log-probabilities differ from the reference by up to " + worst);

            // The same tokens fed in two pieces through the KV cache give the same last-token distribution.
            KvCache cache = new KvCache(net.numLayers());
            int cut = ids.length - 3;
            net.forward(ForwardInput.of(Tensors.longs(java.util.Arrays.copyOf(ids, cut), 1, cut)), cache);
            float[] tail = Tensors.toFloats(net.forward(ForwardInput.of(Tensors.longs(java.util.Arrays.copyOfRange(ids, cut, ids.length), 1,
                    ids.length - cut)), cache).log_softmax(-1));
            for (int t = cut; t < ids.length; t++)
                for (int v = 0; v < vocab; v++)
                    assertEquals(got[t * vocab + v], tail[(t - cut) * vocab + v], 1e-4, family + " cached pass, token " + t);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtures")
    void savedFamiliesKeepTheirTensorNames(String family) throws IOException {
        CausalLM net = load(family);
        List<String> names = new ArrayList<>(net.parameters().keySet());
        try (SafeTensorsFile f = SafeTensorsFile.open(fixture(family).resolve("model.safetensors"))) {
            assertEquals(new java.util.TreeSet<>(f.entries().keySet()), new java.util.TreeSet<>(names),
                    "the runtime's parameters are the checkpoint's tensors, under their own names");
        }
    }
}
