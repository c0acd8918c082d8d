package dev.palimpsest.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.Stream;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.tensor.Tensors;

/** The runtime's logits against the independent double-precision reference, for every family. */
class ForwardReferenceTest {
    static Stream<Arguments> families() {
        ObjectNode inverseLayer = TinyModels.gpt2Config();
        inverseLayer.put("scale_attn_by_inverse_layer_idx", true);
        ObjectNode untiedGpt2 = TinyModels.gpt2Config();
        untiedGpt2.put("tie_word_embeddings", false);
        ObjectNode llamaBias = TinyModels.llamaConfig();
        llamaBias.put("attention_bias", true);
        llamaBias.put("mlp_bias", true);
        ObjectNode headDim = TinyModels.llamaConfig();
        headDim.put("head_dim", 8);
        return Stream.of(Arguments.of("llama-gqa", TinyModels.llamaConfig()),
                Arguments.of("qwen2-bias-theta1e6", TinyModels.qwen2Config()),
                Arguments.of("llama-tied", TinyModels.tiedLlamaConfig()),
                Arguments.of("llama-all-bias", llamaBias),
                Arguments.of("llama-head-dim", headDim),
                Arguments.of("gpt2", TinyModels.gpt2Config()),
                Arguments.of("gpt2-inverse-layer-scale", inverseLayer),
                Arguments.of("gpt2-untied", untiedGpt2));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("families")
    void logitsMatchTheDoublePrecisionReference(String name, ObjectNode config) {
        CausalLM net = TinyModels.randomNet(config, 7);
        ReferenceTransformer ref = new ReferenceTransformer(net.config(), net.parameters());
        long[] ids = TinyModels.ids("the capital of france is paris . who wrote the book ?");
        double[][] expected = ref.logits(ids);
        try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            Tensor logits = net.forward(Tensors.longs(ids, 1, ids.length));
            float[] got = Tensors.toFloats(logits);
            int vocab = net.config().vocabSize();
            double maxDiff = 0, maxAbs = 0;
            for (int t = 0; t < ids.length; t++)
                for (int v = 0; v < vocab; v++) {
                    maxDiff = Math.max(maxDiff, Math.abs(got[t * vocab + v] - expected[t][v]));
                    maxAbs = Math.max(maxAbs, Math.abs(expected[t][v]));
                }
            assertTrue(maxAbs > 0.5, "logits too small to be a meaningful check: " + maxAbs);
            assertTrue(maxDiff < 2e-5 * Math.max(1, maxAbs), name + ": max |diff| " + maxDiff + " (max |logit| " + maxAbs + ")");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("families")
    void fp64ModelMatchesTheReferenceToRoundoff(String name, ObjectNode config) {
        CausalLM net = TinyModels.toDouble(TinyModels.randomNet(config, 11));
        ReferenceTransformer ref = new ReferenceTransformer(net.config(), net.parameters());
        long[] ids = TinyModels.ids("a cat sat on the mat . the river flows");
        double[][] expected = ref.logits(ids);
        try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            double[] got = Tensors.toDoublesExact(net.forward(Tensors.longs(ids, 1, ids.length)));
            int vocab = net.config().vocabSize();
            for (int t = 0; t < ids.length; t++)
                for (int v = 0; v < vocab; v++)
                    assertEquals(expected[t][v], got[t * vocab + v], 1e-9, name + " token " + t + " vocab " + v);
        }
    }
}
