package dev.palimpsest.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.tensor.Tensors;

class BatchingAndCacheTest {
    static ObjectNode config(String family) {
        return TinyModels.config(family);
    }

    static final List<long[]> PROMPTS = List.of(TinyModels.ids("the capital of france is"),
            TinyModels.ids("who wrote the book ? the answer is"), TinyModels.ids("a cat"),
            TinyModels.ids("the river flows through the city of paris end"));

    @ParameterizedTest
    @MethodSource("dev.palimpsest.model.TinyModels#families")
    void scoringABatchEqualsScoringEachAlone(String family) {
        CausalLM net = TinyModels.randomNet(config(family), 3);
        List<long[]> targets = List.of(TinyModels.ids("paris"), TinyModels.ids("red blue green"),
                TinyModels.ids("sat on the mat"), TinyModels.ids("one"));
        List<Scorer.Scored> batched = Scorer.scoreIds(net, PROMPTS, targets, 4, 0);
        for (int i = 0; i < PROMPTS.size(); i++) {
            Scorer.Scored alone = Scorer.scoreIds(net, List.of(PROMPTS.get(i)), List.of(targets.get(i)), 1, 0).get(0);
            assertArrayEquals(alone.logprobs(), batched.get(i).logprobs(), 1e-5f, family + " row " + i);
        }
    }

    @ParameterizedTest
    @MethodSource("dev.palimpsest.model.TinyModels#families")
    void leftPaddedBatchGivesEachRowItsUnpaddedLogits(String family) {
        CausalLM net = TinyModels.randomNet(config(family), 5);
        try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            PaddedBatch batch = PaddedBatch.left(PROMPTS, 0);
            float[] all = Tensors.toFloats(net.forward(new ForwardInput(batch.ids(), null, batch.keyMask()), null));
            int v = net.config().vocabSize(), w = batch.width();
            for (int b = 0; b < PROMPTS.size(); b++) {
                long[] p = PROMPTS.get(b);
                float[] alone = Tensors.toFloats(net.forward(Tensors.longs(p, 1, p.length)));
                for (int t = 0; t < p.length; t++)
                    for (int k = 0; k < v; k++)
                        assertEquals(alone[t * v + k], all[(b * w + (w - p.length) + t) * v + k], 1e-4,
                                family + " row " + b + " token " + t);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.palimpsest.model.TinyModels#families")
    void runningFromAPrefixEqualsTheWholePassAndRunsOnlyTheLayersAbove(String family) {
        CausalLM net = TinyModels.randomNet(config(family), 6);
        try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            PaddedBatch batch = PaddedBatch.right(PROMPTS, 0);
            ForwardInput in = new ForwardInput(batch.ids(), null, batch.keyMask());
            float[] whole = Tensors.toFloats(net.hidden(in, null));
            for (int layer = 0; layer < net.numLayers(); layer++) {
                CausalLM.Prefix from = net.prefix(in, layer);
                net.hidden(ForwardInput.of(Tensors.longs(PROMPTS.get(2), 1, PROMPTS.get(2).length)), null); // another pass, of another length, in between
                int[] calls = new int[net.numLayers()];
                List<SiteHooks.Handle> hooks = new ArrayList<>();
                for (int l = 0; l < net.numLayers(); l++) {
                    int at = l;
                    hooks.add(net.sites().add(l, Site.MLP_OUT, a -> { calls[at]++; return a; }));
                }
                float[] again = Tensors.toFloats(net.hidden(from));
                hooks.forEach(SiteHooks.Handle::close);
                assertArrayEquals(whole, again, 1e-5f, family + " from layer " + layer);
                for (int l = 0; l < net.numLayers(); l++) assertEquals(l >= layer ? 1 : 0, calls[l], family + " from " + layer + ": layer " + l + " ran");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dev.palimpsest.model.TinyModels#families")
    void cachedGenerationEqualsUncachedGeneration(String family) {
        CausalLM net = TinyModels.randomNet(config(family), 9);
        List<long[]> cached = Generator.greedyIds(net, PROMPTS, 12, Set.of(2L), 0, true);
        List<long[]> uncached = Generator.greedyIds(net, PROMPTS, 12, Set.of(2L), 0, false);
        for (int i = 0; i < PROMPTS.size(); i++) assertArrayEquals(uncached.get(i), cached.get(i), family + " row " + i);
        assertTrue(cached.stream().anyMatch(g -> g.length > 3), "generation should produce tokens");
    }

    @Test
    void cachedLogitsEqualFullSequenceLogits() {
        CausalLM net = TinyModels.randomNet(TinyModels.llamaConfig(), 4);
        long[] ids = TinyModels.ids("the capital of france is paris end the river");
        try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard(); KvCache cache = new KvCache(2)) {
            float[] full = Tensors.toFloats(net.forward(Tensors.longs(ids, 1, ids.length)));
            int v = net.config().vocabSize();
            // Feed a prefix of five tokens, then two at a time.
            int[] cuts = {0, 5, 7, 8, ids.length};
            for (int c = 0; c + 1 < cuts.length; c++) {
                long[] part = java.util.Arrays.copyOfRange(ids, cuts[c], cuts[c + 1]);
                float[] step = Tensors.toFloats(net.forward(ForwardInput.of(Tensors.longs(part, 1, part.length)), cache));
                for (int t = 0; t < part.length; t++)
                    for (int k = 0; k < v; k++)
                        assertEquals(full[(cuts[c] + t) * v + k], step[t * v + k], 1e-4, "token " + (cuts[c] + t));
            }
            assertEquals(ids.length, cache.length());
        }
    }

    @Test
    void slidingWindowLimitsWhatAQuerySees() {
        ObjectNode cfg = TinyModels.llamaConfig();
        cfg.putArray("architectures").add("MistralForCausalLM");
        cfg.put("sliding_window", 3);
        CausalLM windowed = TinyModels.randomNet(cfg, 2);
        long[] ids = TinyModels.ids("the capital of france is paris end");
        long[] shifted = TinyModels.ids("a cat of france is paris end");
        try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            // Two layers of a three-token window: the last token (6) depends on tokens 2..6 only.
            Tensor a = windowed.forward(Tensors.longs(ids, 1, ids.length)).select(1, ids.length - 1);
            Tensor b = windowed.forward(Tensors.longs(shifted, 1, shifted.length)).select(1, ids.length - 1);
            assertArrayEquals(Tensors.toFloats(a), Tensors.toFloats(b), 1e-5f);
            // The same weights without a window do see the change.
            CausalLM full = TinyModels.randomNet(TinyModels.llamaConfig(), 2);
            float[] fa = Tensors.toFloats(full.forward(Tensors.longs(ids, 1, ids.length)).select(1, ids.length - 1));
            float[] fb = Tensors.toFloats(full.forward(Tensors.longs(shifted, 1, shifted.length)).select(1, ids.length - 1));
            double diff = 0;
            for (int i = 0; i < fa.length; i++) diff = Math.max(diff, Math.abs(fa[i] - fb[i]));
            assertTrue(diff > 1e-3, "without a window the first tokens matter");
        }
    }
}
