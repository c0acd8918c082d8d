package dev.palimpsest.method.memory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.palimpsest.data.EditItem;
import dev.palimpsest.eval.Evaluator;
import dev.palimpsest.method.MethodRegistry;
import dev.palimpsest.method.Update;
import dev.palimpsest.method.memory.GraceCodebook;
import dev.palimpsest.model.ForwardInput;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.tensor.Tensors;
import dev.palimpsest.world.Counterfactuals;
import dev.palimpsest.world.MicroWorld;

class GraceTest {
    @TempDir
    Path tmp;

    private static float[] logits(LanguageModel m, String prompt) {
        long[] ids = m.tokenizer().encodePrompt(m.questionFormat().prompt(prompt));
        return Tensors.toFloats(m.net().logits(m.net().hidden(ForwardInput.of(Tensors.longs(ids, 1, ids.length)), null)));
    }

    /** Ten counterfactuals on the micro world: installed, unrelated prompts bit for bit as before, kept through save and load. */
    @Test
    void editsWithoutTouchingUnrelatedPromptsAndSurvivesSaveAndLoad() throws IOException {
        List<EditItem> items = Counterfactuals.micro(10);
        List<String> unrelated = List.of("Who is the CEO of Maple Systems?", "What is the capital of France?",
                "What industry is Maple Systems in?", "Tell me a story.");
        try (LanguageModel m = LanguageModel.load(MicroWorld.model()); LanguageModel base = LanguageModel.load(MicroWorld.model());
                PointerScope s = new PointerScope()) {
            var format = m.questionFormat();
            double before = Evaluator.edits(m, null, format, items, Evaluator.Options.DEFAULT).reliability();
            Update u = MethodRegistry.get("grace").apply(m, format, Counterfactuals.requests(items), List.of(), Map.of(), 0);
            Evaluator.EditResult after = Evaluator.edits(m, base, format, items, Evaluator.Options.DEFAULT);
            assertTrue(after.reliability() >= 0.99, "reliability " + before + " -> " + after.reliability());
            for (String q : unrelated) assertArrayEquals(logits(base, q), logits(m, q), 0f, "bit-identical logits for: " + q);
            GraceCodebook book = (GraceCodebook) m.memories().get(0);
            assertTrue(book.size() >= 10, "one entry per target token at least: " + book.size());

            Path dir = tmp.resolve("edited");
            m.save(dir);
            try (LanguageModel again = LanguageModel.load(dir)) {
                assertEquals(book.size(), ((GraceCodebook) again.memories().get(0)).size());
                assertEquals(after.reliability(), Evaluator.edits(again, base, format, items, Evaluator.Options.DEFAULT).reliability(), 0);
                String edited = items.get(0).prompt();
                assertArrayEquals(logits(m, edited), logits(again, edited), 0f, "the reloaded codebook answers as the saved one");
            }
            u.remove();
            assertTrue(m.memories().isEmpty());
            assertArrayEquals(logits(base, items.get(0).prompt()), logits(m, items.get(0).prompt()), 0f, "removing the codebook restores the model");
        }
    }

    /** The expansion rules on hand-made keys: a new entry, a radius grown for the same label, a split for another. */
    @Test
    void expansionRules() {
        try (LanguageModel m = LanguageModel.load(MicroWorld.model()); PointerScope s = new PointerScope()) {
            GraceCodebook book = new GraceCodebook(m.net(), 1);
            long f = m.net().linear(m.net().downProjection(1)).inFeatures(), d = m.config().hiddenSize();
            var zeros = Tensors.zeros(org.bytedeco.pytorch.global.torch.ScalarType.Float, f);
            Tensor value = Tensors.zeros(org.bytedeco.pytorch.global.torch.ScalarType.Float, d);
            book.add(zeros, value, 1.0, 7);
            Tensor at = zeros.clone();
            at.select(0, 0).fill_(Tensors.scalar(1.5));
            GraceCodebook.Nearest n = book.nearest(at);
            assertEquals(0, n.index());
            assertEquals(1.5, n.distance(), 1e-6);
            // Within radius + ε of entry 0 and the same label: entry 0 grows to cover it.
            assertEquals(0, Grace.place(book, at, value, 7, 1.0));
            assertEquals(1, book.size());
            assertEquals(1.5, book.radius(0), 1e-6);
            // Same place, another label: both radii become half the distance, a new entry holds the new label.
            Tensor other = zeros.clone();
            other.select(0, 0).fill_(Tensors.scalar(2.0));
            assertEquals(1, Grace.place(book, other, value, 9, 1.0));
            assertEquals(1.0, book.radius(0), 1e-6);
            assertEquals(1.0, book.radius(1), 1e-6);
            assertEquals(9, book.label(1));
            // Far from everything (distance 10 > radius 1 + ε 1): a new entry with radius ε.
            Tensor far = zeros.clone();
            far.select(0, 1).fill_(Tensors.scalar(10.0));
            assertEquals(2, Grace.place(book, far, value, 7, 1.0));
            assertEquals(1.0, book.radius(2), 1e-6);
            book.detach();
        }
    }
}
