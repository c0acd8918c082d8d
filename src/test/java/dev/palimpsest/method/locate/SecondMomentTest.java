package dev.palimpsest.method.locate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.palimpsest.model.DType;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.Site;
import dev.palimpsest.model.TinyModels;
import dev.palimpsest.tensor.Tensors;

class SecondMomentTest {
    @TempDir
    Path tmp;

    static final List<String> LINES = List.of("the cat sat on the mat", "a river flows through the city",
            "who wrote the book", "the capital of france is paris", "one two three four five six seven");

    @Test
    void batchedStreamingEqualsTheMeanOfOuterProductsSequenceBySequence() throws IOException {
        Path dir = TinyModels.writeDir(tmp.resolve("m"), TinyModels.llamaConfig(),
                TinyModels.randomNet(TinyModels.llamaConfig(), 91), DType.F32, true);
        try (LanguageModel m = LanguageModel.load(dir); PointerScope s = new PointerScope()) {
            Tensor c = SecondMoment.compute(m, 1, LINES, 1_000_000, 2, 64).c();
            // By hand: each sequence alone, every token's key k, accumulate k kᵀ in doubles, divide by the count.
            int f = 24;
            double[] expected = new double[f * f], firstLine = null;
            int n = 0;
            for (String line : LINES) {
                long[] ids = m.tokenizer().encodePrompt(line);
                List<Tensor> keys = new ArrayList<>();
                try (var h = m.net().sites().record(1, Site.MLP_KEY, keys); NoGradGuard g = new NoGradGuard()) {
                    m.net().forward(Tensors.longs(ids, 1, ids.length));
                }
                double[] k = Tensors.toDoublesExact(keys.get(0));
                for (int t = 0; t < ids.length; t++, n++)
                    for (int i = 0; i < f; i++) for (int j = 0; j < f; j++) expected[i * f + j] += k[t * f + i] * k[t * f + j];
                if (firstLine == null) {
                    firstLine = expected.clone();
                    for (int i = 0; i < firstLine.length; i++) firstLine[i] /= ids.length;
                }
            }
            for (int i = 0; i < expected.length; i++) expected[i] /= n;
            assertEquals(n, SecondMoment.compute(m, 1, LINES, 1_000_000, 2, 64).tokens());
            double[] got = Tensors.toDoublesExact(c);
            for (int i = 0; i < expected.length; i++) assertEquals(expected[i], got[i], 1e-5 + 1e-4 * Math.abs(expected[i]), "entry " + i);
            // A budget of 7 tokens stops after the first line (BOS and six words).
            double[] few = Tensors.toDoublesExact(SecondMoment.compute(m, 1, LINES, 7, 2, 64).c());
            for (int i = 0; i < few.length; i++) assertEquals(firstLine[i], few[i], 1e-5 + 1e-4 * Math.abs(firstLine[i]), "entry " + i);
        }
    }

    @Test
    void cachedByModelLayerCorpusAndSize() throws IOException {
        Path dir = TinyModels.writeDir(tmp.resolve("m"), TinyModels.llamaConfig(),
                TinyModels.randomNet(TinyModels.llamaConfig(), 93), DType.F32, true);
        Path cache = tmp.resolve("cache");
        try (LanguageModel m = LanguageModel.load(dir); PointerScope s = new PointerScope()) {
            float[] first = Tensors.toFloats(SecondMoment.cached(m, 0, LINES, 1000, cache).c());
            long files;
            try (var w = Files.walk(cache)) {
                files = w.filter(Files::isRegularFile).count();
            }
            assertEquals(1, files);
            SecondMoment.Moment again = SecondMoment.cached(m, 0, LINES, 1000, cache);
            assertArrayEquals(first, Tensors.toFloats(again.c()), 0f);
            assertTrue(again.fromCache());
            assertEquals(SecondMoment.compute(m, 0, LINES, 1000, 16, 256).tokens(), again.tokens(), "the cache remembers the count");
            String before = SecondMoment.fingerprint(m.net());
            try (NoGradGuard g = new NoGradGuard()) {
                m.net().parameter(m.net().downProjection(0) + ".weight").add_(Tensors.scalar(0.01));
            }
            assertNotEquals(before, SecondMoment.fingerprint(m.net()), "an edited model gets statistics of its own");
            SecondMoment.cached(m, 0, LINES, 1000, cache);
            try (var w = Files.walk(cache)) {
                assertTrue(w.filter(Files::isRegularFile).count() == 2);
            }
        }
    }

    @Test
    void onlyABuiltInWorldsModelHasADefaultCorpus() throws IOException {
        Path dir = TinyModels.writeDir(tmp.resolve("m"), TinyModels.llamaConfig(),
                TinyModels.randomNet(TinyModels.llamaConfig(), 95), DType.F32, true);
        try (LanguageModel m = LanguageModel.load(dir)) {
            dev.palimpsest.UserError e = org.junit.jupiter.api.Assertions.assertThrows(dev.palimpsest.UserError.class,
                    () -> StatisticsCorpus.of("rome", m, null));
            assertTrue(e.getMessage().startsWith("rome: set corpus=FILE"), e.getMessage());
            Path text = Files.writeString(tmp.resolve("text.txt"), String.join("\n", LINES));
            assertEquals(LINES, StatisticsCorpus.of("rome", m, text.toString()).lines());
        }
        // A built-in world's model reads its own world's pretraining text.
        try (LanguageModel m = LanguageModel.load(dev.palimpsest.world.MicroWorld.model())) {
            StatisticsCorpus c = StatisticsCorpus.of("rome", m, null);
            assertEquals(Files.readAllLines(dev.palimpsest.world.MicroWorld.world("corpus.txt")), c.lines());
            assertTrue(c.name().startsWith("the built-in world's pretraining text"), c.name());
        }
    }
}
