package dev.palimpsest.method.loka;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import java.util.function.Supplier;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.Scorer;
import dev.palimpsest.model.TinyModels;
import dev.palimpsest.tensor.Tensors;

class LokaPartsTest {
    /** Three tight groups of 4, 4 and 8 points with capacity 6: the big group overflows into its nearest neighbour only. */
    @Test
    void balancedKMeansRespectsItsCapacity() {
        Random rnd = new Random(1);
        double[][] pts = new double[16][];
        double[][] centres = {{0, 0}, {10, 0}, {0, 10}};
        int[] group = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2};
        for (int i = 0; i < 16; i++) pts[i] = new double[] {centres[group[i]][0] + 0.1 * rnd.nextGaussian(), centres[group[i]][1] + 0.1 * rnd.nextGaussian()};
        for (long seed = 0; seed < 5; seed++) {
            BalancedKMeans.Result r = BalancedKMeans.fit(pts, 3, 6, seed, 50);
            for (int j = 0; j < 3; j++) assertTrue(r.size(j) <= 6, "cluster " + j + " holds " + r.size(j) + " (seed " + seed + ")");
            assertEquals(16, r.size(0) + r.size(1) + r.size(2));
        }
        // Without the capacity bound (capacity = n) the three groups come out exactly.
        BalancedKMeans.Result free = BalancedKMeans.fit(pts, 3, 16, 0, 50);
        for (int i = 1; i < 16; i++) assertEquals(group[i] == group[0], free.assignment()[i] == free.assignment()[0], "point " + i);
        assertThrows(IllegalArgumentException.class, () -> BalancedKMeans.fit(pts, 3, 5, 0, 10));
    }

    /** The greedy balanced assignment by hand: the first three points are all nearest to centroid 0. */
    @Test
    void balancedAssignmentByHand() {
        double[][] pts = {{0}, {0.3}, {0.6}, {9}}, c = {{0.2}, {10}};
        // Capacity 2: points 1 and 0 (the closest pairs) fill centroid 0; point 2 overflows to centroid 1.
        assertArrayEquals(new int[] {0, 0, 1, 1}, BalancedKMeans.assign(pts, c, 2));
        assertArrayEquals(new int[] {0, 0, 0, 1}, BalancedKMeans.assign(pts, c, 3), "with room, each goes to its nearest");
    }

    /** Gradient ascent on an answer against learning that same answer: exactly opposite gradients, score −1. */
    @Test
    void conflictScoreOfOppositeGradientsIsNegative() {
        try (PointerScope s = new PointerScope()) {
            CausalLM net = TinyModels.randomNet(TinyModels.llamaConfig(), 3);
            Tensor w = net.linear(net.downProjection(1)).weight();
            w.set_requires_grad(true);
            List<long[]> prompts = List.of(new long[] {1, 3, 4, 5}), answers = List.of(new long[] {6, 7});
            Supplier<Tensor> learn = () -> Scorer.targetLogprobs(net, prompts, answers, 0).mean().neg();
            Supplier<Tensor> ascend = () -> Scorer.targetLogprobs(net, prompts, answers, 0).mean();
            List<Tensor> params = List.of(w);
            assertEquals(-1, GradientConflict.score(List.of(learn), List.of(ascend), params), 1e-9);
            assertEquals(1, GradientConflict.score(List.of(learn), List.of(learn), params), 1e-9);
            w.set_requires_grad(false);
        }
    }

    /** The two-task minimum-norm weight by hand. */
    @Test
    void minNormCombinationByHand() {
        try (PointerScope s = new PointerScope()) {
            Tensor e1 = Tensors.floats(new float[] {1, 0}, 2).toType(org.bytedeco.pytorch.global.torch.ScalarType.Double);
            Tensor e2 = Tensors.floats(new float[] {0, 1}, 2).toType(org.bytedeco.pytorch.global.torch.ScalarType.Double);
            assertEquals(0.5, GradientConflict.minNormWeight(e1, e2), 1e-12); // orthogonal unit vectors: the midpoint
            assertEquals(1, GradientConflict.minNormWeight(e1, e1.mul(Tensors.scalar(2.0))), 1e-12); // same direction: the shorter one
            assertEquals(0.75, GradientConflict.minNormWeight(e1, e1.mul(Tensors.scalar(-3.0))), 1e-12); // opposite: 0.75·1 − 0.25·3 = 0
        }
    }

    /** LSH placement: a batch like an earlier one of its task joins its memory until it is full; an opposite one, or one of the other task, opens another. */
    @Test
    void lshPlacesSimilarBatchesTogether() {
        LshPlacer p = new LshPlacer(new double[] {0, 0, 0}, 8, 4, 7);
        double[][] a = {{1, 1, 0}, {1, 0.9, 0.1}}, a2 = {{0.9, 1, 0}, {1, 1.1, 0}}, a3 = {{1, 1, 0.05}};
        double[][] opposite = {{-1, -1, 0}};
        int m0 = p.place(a, 0);
        assertEquals(m0, p.place(a2, 0), "a similar batch shares the bucket and its memory");
        int forgets = p.place(a2, 1);
        assertNotEquals(m0, forgets, "forgets never share the edits' memory");
        assertEquals(forgets, p.place(a3, 1), "a similar batch of forgets joins the forgets' memory");
        assertNotEquals(m0, p.place(opposite, 0), "the opposite direction falls in another bucket");
        int m3 = p.place(a3, 0);
        assertNotEquals(m0, m3, "the first memory is full (capacity 4): a new one for the same bucket");
        assertEquals(4, p.memories());
        assertEquals(4, p.load(m0));
        assertEquals(p.bucket(a[0], 0), p.bucket(a2[0], 0));
    }

    /** A LOKA codebook with {@code memories} fresh memories on a tiny 2-layer model: router on layer 0, memories on layer 1. */
    private static LokaCodebook codebook(CausalLM net, int memories) {
        LokaCodebook c = new LokaCodebook(net, new int[] {0}, new int[] {1}, 2, 4.0, 0);
        for (int k = 0; k < memories; k++) c.addMemory(k);
        return c;
    }

    /** The router's margins by hand: per memory, the nearest positive key's cosine minus the nearest negative's. */
    @Test
    void routerMarginsByHand() {
        try (PointerScope s = new PointerScope()) {
            LokaCodebook c = codebook(TinyModels.randomNet(TinyModels.llamaConfig(), 3), 3);
            c.setRouter(Tensors.zeros(ScalarType.Float, 4), Tensors.ones(ScalarType.Float, 4), Tensors.floats(new float[] {1, 0, 0, 0, 0, 1, 0, 0}, 2, 4),
                    Tensors.longs(new long[] {0, 1}, 2), Tensors.floats(new float[] {0, 0, 1, 0}, 1, 4), 0.15);
            // [1,0,0,0]: memory 0's key exactly, orthogonal to the negative; [0,0,2,0]: the negative; [3,4,0,0]: between both keys.
            // Memory 2 has no keys: cosine -1 (the least there is) minus the negative's.
            float[] m = Tensors.toFloats(c.margins(Tensors.floats(new float[] {1, 0, 0, 0, 0, 0, 2, 0, 3, 4, 0, 0}, 3, 4)));
            assertArrayEquals(new float[] {1, 0, -1, -1, -1, -2, 0.6f, 0.8f, -1}, m, 1e-6f);
            c.detach();
        }
    }

    /**
     * Keys from real states: a prompt whose tokens are positive keys routes to its memory, a negative prompt routes
     * nowhere, and the memory is the one whose keys the prompt matched.
     */
    @Test
    void routerKeysRouteTheirPromptsToTheirMemories() {
        try (PointerScope s = new PointerScope()) {
            CausalLM net = TinyModels.randomNet(TinyModels.llamaConfig(), 3);
            LokaCodebook c = codebook(net, 2);
            long[] a = {1, 3, 4, 5, 6}, b = {1, 7, 8, 9, 10}, neg = {1, 11, 12, 13, 14};
            int w = (int) net.config().hiddenSize();
            List<float[][]> pos = PromptStates.of(net, new int[] {0}, List.of(a, b), 0), negs = PromptStates.of(net, new int[] {0}, List.of(neg), 0);
            RouterKeys.fit(c, pos, new int[] {0, 1}, negs, w, 0.15);
            assertEquals(0, route(net, c, a), "prompt a: memory 0");
            assertEquals(1, route(net, c, b), "prompt b: memory 1");
            assertEquals(-1, route(net, c, neg), "the negative prompt routes nowhere");
            c.detach();
        }
    }

    /**
     * A router key with input embeddings, by hand: the previous token's embedding (zeros at a sequence's start, the
     * previous KV-cache pass's last token otherwise), the token's own, then its state; a sequence cut in two passes
     * gets the keys of the whole.
     */
    @Test
    void routerKeysHoldTheEmbeddingsOfTheTokenAndTheOneBefore() {
        try (PointerScope s = new PointerScope()) {
            Tensor e = Tensors.floats(new float[] {1, 2, 3, 4, 5, 6}, 1, 3, 2), x = Tensors.floats(new float[] {7, 8, 9}, 1, 3, 1);
            assertArrayEquals(new float[] {7, 8, 9}, Tensors.toFloats(PromptStates.keys(e, null, 0, x)));
            assertArrayEquals(new float[] {1, 2, 7, 3, 4, 8, 5, 6, 9}, Tensors.toFloats(PromptStates.keys(e, null, 1, x)));
            float[] whole = Tensors.toFloats(PromptStates.keys(e, null, 2, x));
            assertArrayEquals(new float[] {0, 0, 1, 2, 7, 1, 2, 3, 4, 8, 3, 4, 5, 6, 9}, whole);
            float[] second = Tensors.toFloats(PromptStates.keys(Tensors.slice(e, 1, 1, 3), Tensors.floats(new float[] {1, 2}, 1, 2), 2, Tensors.slice(x, 1, 1, 3)));
            assertArrayEquals(java.util.Arrays.copyOfRange(whole, 5, 15), second);
        }
    }

    /**
     * Bigram keys on real states: each prompt routes to its memory, the negative nowhere, in one pass and when fed in
     * KV-cache pieces (where the first token of a piece takes the previous piece's last embedding); the codebook file
     * keeps the kind of key.
     */
    @Test
    void bigramKeysRouteAlikeInOnePassAndInCachedPieces(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws java.io.IOException {
        try (PointerScope s = new PointerScope()) {
            CausalLM net = TinyModels.randomNet(TinyModels.llamaConfig(), 3);
            LokaCodebook c = new LokaCodebook(net, new int[] {0}, new int[] {1}, 2, 4.0, 2);
            c.addMemory(0);
            c.addMemory(1);
            long[] a = {1, 3, 4, 5, 6}, b = {1, 7, 8, 9, 10}, neg = {1, 11, 12, 13, 14};
            int w = (int) net.config().hiddenSize();
            List<float[][]> pos = PromptStates.of(net, new int[] {0}, List.of(a, b), 0, 2), negs = PromptStates.of(net, new int[] {0}, List.of(neg), 0, 2);
            assertEquals(3 * w, pos.get(0)[0].length, "two embeddings and one layer's state per token");
            RouterKeys.fit(c, pos, new int[] {0, 1}, negs, 3 * w, 0.15);
            long[][] prompts = {a, b, neg};
            int[] expected = {0, 1, -1};
            for (int i = 0; i < prompts.length; i++) {
                assertEquals(expected[i], route(net, c, prompts[i]), "one pass, prompt " + i);
                float[] evidence = c.lastEvidence();
                try (org.bytedeco.pytorch.NoGradGuard g = new org.bytedeco.pytorch.NoGradGuard(); dev.palimpsest.model.KvCache cache = new dev.palimpsest.model.KvCache(net.numLayers())) {
                    for (int[] cut : new int[][] {{0, 2}, {2, 3}, {3, 5}}) {
                        long[] part = java.util.Arrays.copyOfRange(prompts[i], cut[0], cut[1]);
                        net.hidden(dev.palimpsest.model.ForwardInput.of(Tensors.longs(part, 1, part.length)), cache);
                    }
                }
                assertEquals(expected[i], c.lastRoute()[0], "cached pieces, prompt " + i);
                assertArrayEquals(evidence, c.lastEvidence(), 1e-4f, "each memory's evidence, cached pieces, prompt " + i);
            }
            java.nio.file.Path file = tmp.resolve(LokaCodebook.FILE);
            c.write(file);
            c.detach();
            try (dev.palimpsest.model.SafeTensorsFile f = dev.palimpsest.model.SafeTensorsFile.open(file)) {
                LokaCodebook again = LokaCodebook.read(net, f);
                assertEquals(2, again.embedded());
                assertEquals(1, route(net, again, b), "read back, prompt b");
                again.detach();
            }
        }
    }

    private static int route(CausalLM net, LokaCodebook c, long[] ids) {
        try (org.bytedeco.pytorch.NoGradGuard g = new org.bytedeco.pytorch.NoGradGuard()) {
            net.hidden(dev.palimpsest.model.ForwardInput.of(Tensors.longs(ids, 1, ids.length)), null);
        }
        return c.lastRoute()[0];
    }
}
