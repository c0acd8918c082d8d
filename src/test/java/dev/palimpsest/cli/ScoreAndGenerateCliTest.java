package dev.palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.DType;
import dev.palimpsest.model.ReferenceTransformer;
import dev.palimpsest.model.TinyModels;

/** `score --json` and `generate --json` on model directories the test writes, against the reference. */
class ScoreAndGenerateCliTest {
    @TempDir
    Path tmp;

    static Stream<Arguments> models() {
        return Stream.of(Arguments.of("llama", TinyModels.llamaConfig(), DType.F32, true),
                Arguments.of("qwen2", TinyModels.qwen2Config(), DType.F32, true),
                Arguments.of("llama-tied", TinyModels.tiedLlamaConfig(), DType.F32, true),
                Arguments.of("llama-bf16", TinyModels.llamaConfig(), DType.BF16, true),
                Arguments.of("gpt2", TinyModels.gpt2Config(), DType.F32, false));
    }

    /** The reference sees the weights exactly as stored: rounded to bf16 by libtorch when the file is bf16. */
    static ReferenceTransformer reference(CausalLM net, DType stored) {
        Map<String, Tensor> w = new LinkedHashMap<>();
        net.parameters().forEach((k, v) -> w.put(k, stored == DType.BF16
                ? v.toType(ScalarType.BFloat16).toType(ScalarType.Float) : v));
        return new ReferenceTransformer(net.config(), w);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void scoreJsonMatchesTheReference(String name, ObjectNode cfg, DType dtype, boolean bos) throws IOException {
        CausalLM net = TinyModels.randomNet(cfg, 51);
        Path dir = TinyModels.writeDir(tmp.resolve(name), cfg, net, dtype, bos);
        // fp32 compute, bf16 checkpoints included (their weights up-cast), to match the fp64 reference closely;
        // bf16 compute is held to its own tolerance in PrecisionTest.
        CliRun r = CliRun.of("score", "--model", dir.toString(), "--dtype", "float32", "--prompt", "the capital of france is",
                "--target", "paris . the end", "--json");
        assertEquals(0, r.code(), r.err());
        assertEquals(1, r.out().strip().lines().count(), "exactly one JSON object: " + r.out());
        JsonNode json = TinyModels.JSON.readTree(r.out());
        long[] target = TinyModels.ids("paris . the end");
        long[] got = new long[json.get("target_tokens").size()];
        for (int i = 0; i < got.length; i++) got[i] = json.get("target_tokens").get(i).asLong();
        assertArrayEquals(target, got);

        long[] prompt = TinyModels.ids("the capital of france is");
        long[] seq = concat(bos ? new long[] {1} : new long[0], prompt, target);
        double[][] logits = reference(net, dtype).logits(seq);
        int offset = seq.length - target.length;
        for (int i = 0; i < target.length; i++) {
            double expected = ReferenceTransformer.logSoftmax(logits[offset - 1 + i])[(int) target[i]];
            assertEquals(expected, json.get("logprobs").get(i).asDouble(), 2e-5, name + " token " + i);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void generateJsonFollowsTheReferenceArgmax(String name, ObjectNode cfg, DType dtype, boolean bos) throws IOException {
        CausalLM net = TinyModels.randomNet(cfg, 53);
        Path dir = TinyModels.writeDir(tmp.resolve(name), cfg, net, dtype, bos);
        CliRun r = CliRun.of("generate", "--model", dir.toString(), "--dtype", "float32", "--prompt", "who wrote the book ?",
                "--max-new-tokens", "6", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode json = TinyModels.JSON.readTree(r.out());
        ReferenceTransformer ref = reference(net, dtype);
        List<Long> seq = new ArrayList<>();
        if (bos) seq.add(1L);
        for (long id : TinyModels.ids("who wrote the book ?")) seq.add(id);
        List<Long> expected = new ArrayList<>();
        for (int step = 0; step < 6; step++) {
            double[][] logits = ref.logits(seq.stream().mapToLong(Long::longValue).toArray());
            double[] last = logits[logits.length - 1];
            int best = 0;
            for (int v = 1; v < last.length; v++) if (last[v] > last[best]) best = v;
            if (best == 2) break; // EOS
            expected.add((long) best);
            seq.add((long) best);
        }
        List<Long> got = new ArrayList<>();
        json.get("tokens").forEach(t -> got.add(t.asLong()));
        assertEquals(expected, got);
        StringBuilder text = new StringBuilder();
        for (long id : expected) text.append(text.length() == 0 ? "" : " ").append(TinyModels.VOCAB.get((int) id));
        assertEquals(text.toString(), json.get("text").asText());
    }

    static long[] concat(long[]... parts) {
        int n = 0;
        for (long[] p : parts) n += p.length;
        long[] out = new long[n];
        int o = 0;
        for (long[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }
}
