package dev.palimpsest.method.memory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.palimpsest.data.DataFormat;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.data.QaReader;
import dev.palimpsest.request.KnowledgeRequest;
import dev.palimpsest.model.ForwardInput;
import dev.palimpsest.model.Generator;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.Scorer;
import dev.palimpsest.method.memory.WiseSideMemory;
import dev.palimpsest.model.Site;
import dev.palimpsest.model.SiteHooks;
import dev.palimpsest.tensor.Tensors;
import dev.palimpsest.world.MicroWorld;

class WiseTest {
    @TempDir
    Path tmp;

    private static long[] prompt(LanguageModel m, String question) {
        return m.tokenizer().encodePrompt(m.questionFormat().prompt(question));
    }

    private static float[] logits(LanguageModel m, String question) {
        long[] ids = prompt(m, question);
        return Tensors.toFloats(m.net().logits(m.net().hidden(ForwardInput.of(Tensors.longs(ids, 1, ids.length)), null)));
    }

    /** The memory the last position of one question is routed to (-1: the main memory). */
    private static int route(LanguageModel m, WiseSideMemory memory, String question) {
        logits(m, question);
        return memory.lastRoute()[0];
    }

    /** The mean of ‖ΔW a‖ over a question's prompt tokens: its routing score at the last position. */
    private static double meanActivation(LanguageModel m, int layer, Tensor delta, String question) {
        long[] ids = prompt(m, question);
        List<Tensor> k = new ArrayList<>();
        try (SiteHooks.Handle h = m.net().sites().record(layer, Site.MLP_KEY, k)) {
            m.net().hidden(ForwardInput.of(Tensors.longs(ids, 1, ids.length)), null);
        }
        return Tensors.item(WiseSideMemory.activations(k.get(0), delta).mean());
    }

    /** The logits at the last position: earlier positions route on their own running means. */
    private static float[] lastLogits(LanguageModel m, String question) {
        float[] all = logits(m, question);
        int v = (int) m.net().logits(Tensors.zeros(ScalarType.Float, 1, m.config().hiddenSize())).size(-1);
        return java.util.Arrays.copyOfRange(all, all.length - v, all.length);
    }

    private static double maxDiff(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
        return d;
    }

    /**
     * A hand-made side memory on the micro model: with no threshold it never fires (logits bit-identical to the base
     * model's); with one it fires exactly where the mean of ‖ΔW a‖ over the tokens so far reaches it; greedy answers
     * come out the same with the KV cache as without; it survives save and load, and detaching it restores the model.
     */
    @Test
    void routesByTheRunningMeanActivationAlikeWithAndWithoutTheCache() throws IOException {
        try (LanguageModel m = LanguageModel.load(MicroWorld.model()); LanguageModel base = LanguageModel.load(MicroWorld.model());
                PointerScope s = new PointerScope()) {
            int layer = m.net().numLayers() - 1;
            WiseSideMemory memory = new WiseSideMemory(m.net(), layer, 0.88);
            m.attach(memory);
            List<QaItem> facts = QaReader.read(MicroWorld.world("pretrain.json"), DataFormat.WORLD);
            String q0 = facts.get(0).question();
            assertArrayEquals(logits(base, q0), logits(m, q0), 0f, "an empty side memory never fires");
            assertEquals(-1, route(m, memory, q0));

            Tensor delta = memory.delta(0);
            delta.copy_(Tensors.randn(ScalarType.Float, delta.size(0), delta.size(1)).mul(Tensors.scalar(0.3)));
            double[] means = new double[12];
            for (int i = 0; i < means.length; i++) means[i] = meanActivation(m, layer, delta, facts.get(i).question());
            double threshold = java.util.Arrays.stream(means).sorted().toArray()[means.length / 2];
            memory.recordInScope(0, threshold / 0.88);
            int fired = 0;
            for (int i = 0; i < means.length; i++) {
                boolean expected = means[i] >= threshold * (1 + 1e-5), unsure = Math.abs(means[i] - threshold) <= 1e-5 * threshold;
                int r = route(m, memory, facts.get(i).question());
                if (!unsure) assertEquals(expected ? 0 : -1, r, "question " + i + ": mean " + means[i] + " against " + threshold);
                if (r == 0) fired++;
            }
            assertTrue(fired >= 5 && fired <= 7, "about half fire: " + fired);
            String hot = null, cold = null;
            for (int i = 0; i < means.length; i++) {
                if (means[i] > threshold * 1.01 && hot == null) hot = facts.get(i).question();
                if (means[i] < threshold * 0.99 && cold == null) cold = facts.get(i).question();
            }
            float[] routed = logits(m, hot);
            assertTrue(maxDiff(routed, logits(base, hot)) > 1e-3, "the side memory changes what it fires on");
            assertArrayEquals(lastLogits(base, cold), lastLogits(m, cold), 0f, "below the threshold the main memory answers alone");

            // Greedy answers with and without the KV cache, in one padded batch: cached passes continue the running sums.
            List<long[]> prompts = new ArrayList<>();
            for (int i = 0; i < 6; i++) prompts.add(prompt(m, facts.get(i).question()));
            var eos = m.tokenizer().eosIds();
            List<long[]> cached = Generator.greedyIds(m.net(), prompts, 8, eos, m.tokenizer().padId(), true);
            List<long[]> uncached = Generator.greedyIds(m.net(), prompts, 8, eos, m.tokenizer().padId(), false);
            for (int i = 0; i < prompts.size(); i++) assertArrayEquals(uncached.get(i), cached.get(i), "prompt " + i);

            Path dir = tmp.resolve("with-side-memory");
            m.save(dir);
            try (LanguageModel again = LanguageModel.load(dir)) {
                WiseSideMemory loaded = (WiseSideMemory) again.memories().get(0);
                assertEquals(memory.size(), loaded.size());
                assertEquals(memory.minAct(0), loaded.minAct(0), 1e-6 * memory.minAct(0));
                assertArrayEquals(routed, logits(again, hot), 1e-5f, "the reloaded memory answers as the saved one");
            }
            m.detach(memory);
            assertArrayEquals(logits(base, hot), logits(m, hot), 0f, "detaching the side memory restores the model");
        }
    }

    /** Teacher-forced top-1 accuracy of the answers' tokens. */
    private static double accuracy(LanguageModel m, List<String> questions, List<String> answers) {
        List<long[]> p = new ArrayList<>(), t = new ArrayList<>();
        for (int i = 0; i < questions.size(); i++) {
            p.add(prompt(m, questions.get(i)));
            t.add(m.questionFormat().answerIds(m.tokenizer(), answers.get(i)));
        }
        try (NoGradGuard g = new NoGradGuard()) {
            return Scorer.scoreIds(m.net(), p, t, 16, m.tokenizer().padId()).stream().mapToDouble(Scorer.Scored::accuracy).average().orElseThrow();
        }
    }

    private static int routed(LanguageModel m, WiseSideMemory memory, List<String> questions) {
        int n = 0;
        for (String q : questions) if (route(m, memory, q) >= 0) n++;
        return n;
    }

    /**
     * Ten counterfactual edits (the micro world's first ten facts, each with its first paraphrase) made one after
     * another into the side memory at layer 0 of the three: the edits are learned, and the router sends to the side
     * memory at least 90 % of the edited questions and their held-out second paraphrases, and at most 10 % of
     * unrelated questions (held-out phrasings of other entities' facts, and questions about entities the model never
     * met). The memory and its routes survive save and load.
     */
    @Test
    void editsAreLearnedAndRoutedAwayFromUnrelatedQuestions() throws IOException {
        try (LanguageModel m = LanguageModel.load(MicroWorld.model()); PointerScope s = new PointerScope()) {
            List<QaItem> pre = QaReader.read(MicroWorld.world("pretrain.json"), DataFormat.WORLD);
            List<KnowledgeRequest> requests = new ArrayList<>();
            List<String> questions = new ArrayList<>(), targets = new ArrayList<>(), inScope = new ArrayList<>(), unrelated = new ArrayList<>();
            Set<String> edited = new HashSet<>();
            for (QaItem q : pre.subList(0, 10)) {
                requests.add(new KnowledgeRequest(KnowledgeRequest.Kind.EDIT, q.question(), q.answer(), q.perturbedAnswers().get(0), null));
                questions.add(q.question());
                targets.add(q.perturbedAnswers().get(0));
                inScope.add(q.question());
                inScope.add(q.paraphrasedQuestions().get(1));
                edited.add(q.id().split(":")[1]);
            }
            List<QaItem> retain = new ArrayList<>(pre.subList(10, pre.size()));
            retain.addAll(QaReader.read(MicroWorld.world("unseen.json"), DataFormat.WORLD));
            for (QaItem q : pre.subList(10, pre.size())) if (!edited.contains(q.id().split(":")[1])) unrelated.add(q.paraphrasedQuestions().get(1));
            for (String f : List.of("finetune.json", "unseen_heldout.json"))
                QaReader.read(MicroWorld.world(f), DataFormat.WORLD).forEach(q -> unrelated.add(q.question()));
            double before = accuracy(m, questions, targets);

            new Wise().apply(m, m.questionFormat(), requests, retain, Map.of("layer", "0"), 0);
            WiseSideMemory memory = m.memory(WiseSideMemory.class);
            double after = accuracy(m, questions, targets);
            int in = routed(m, memory, inScope), out = routed(m, memory, unrelated);
            System.out.printf("wise micro: edit accuracy %.3f -> %.3f; routed %d/%d in scope, %d/%d unrelated%n", before, after, in,
                    inScope.size(), out, unrelated.size());
            assertTrue(after > before + 0.2, "edits learned: " + before + " -> " + after);
            assertTrue(in >= 0.9 * inScope.size(), "in scope routed: " + in + " of " + inScope.size());
            assertTrue(out <= 0.1 * unrelated.size(), "unrelated routed: " + out + " of " + unrelated.size());

            Path dir = tmp.resolve("wise-edited");
            m.save(dir);
            try (LanguageModel again = LanguageModel.load(dir)) {
                WiseSideMemory loaded = again.memory(WiseSideMemory.class);
                assertEquals(in, routed(again, loaded, inScope));
                assertEquals(out, routed(again, loaded, unrelated));
                assertEquals(after, accuracy(again, questions, targets), 1e-6);
            }
        }
    }

    /** TIES on hand-made vectors: trim to the largest half, elect signs by sum, average the agreeing entries. */
    @Test
    void tiesMergeByHand() {
        try (PointerScope s = new PointerScope()) {
            Tensor a = Tensors.floats(new float[] {4, -1, 2, 0.5f}, 4), b = Tensors.floats(new float[] {-3, 1, 6, -0.1f}, 4);
            // Trimmed to 2 of 4: a → [4, 0, 2, 0], b → [-3, 0, 6, 0]; signs by sum: [+, 0, +, 0];
            // entry 0 keeps a's 4 alone, entry 2 averages 2 and 6.
            assertArrayEquals(new float[] {4, 0, 4, 0}, Tensors.toFloats(TiesMerge.merge(List.of(a, b), 0.5)), 1e-6f);
            assertArrayEquals(new float[] {4, -1, 2, 0.5f}, Tensors.toFloats(TiesMerge.trim(a, 1.0)), 0f);
            assertArrayEquals(new float[] {4, 0, 0, 0}, Tensors.toFloats(TiesMerge.trim(a, 0.25)), 0f);
        }
    }

    /** Sharding: a new working memory every save_freq edits; every merge_freq, the last shards become one memory. */
    @Test
    void shardsAreKeptAndMerged() {
        try (LanguageModel m = LanguageModel.load(MicroWorld.model()); PointerScope s = new PointerScope()) {
            WiseSideMemory memory = new WiseSideMemory(m.net(), 1, 0.88);
            Wise.Config c = new Wise.Config(1, 1, 5, 20, 10, 0.2, 2, 4, 0.53, 1, 1, 0);
            double[] acts = {3, 1, 4, 2};
            for (int e = 0; e < 4; e++) {
                Tensor mask = Wise.gradientMask(memory, 0.5, e / 2);
                memory.delta(memory.working()).add_(mask.mul(Tensors.scalar(e + 1.0)));
                memory.recordInScope(memory.working(), acts[e]);
                Wise.afterEdit(memory, c);
                mask.releaseReference();
                if (e == 1) {
                    assertEquals(2, memory.size(), "after save_freq edits the working memory is kept as a shard");
                    assertEquals(1, memory.minAct(0), 0);
                }
            }
            assertEquals(2, memory.size(), "the two shards merged into one, and a fresh working memory");
            assertEquals(1, memory.minAct(0), 0, "the merged memory's threshold comes from the smallest of its shards'");
            assertTrue(Double.isInfinite(memory.minAct(1)));
            assertEquals(0, Tensors.item(memory.delta(1).abs().sum()), 0);
            assertTrue(Tensors.item(memory.delta(0).abs().sum()) > 0);
            memory.detach();
        }
    }
}
