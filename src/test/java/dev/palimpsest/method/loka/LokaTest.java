package dev.palimpsest.method.loka;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.palimpsest.data.DataFormat;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.data.QaReader;
import dev.palimpsest.request.KnowledgeRequest;
import dev.palimpsest.method.MethodRegistry;
import dev.palimpsest.method.Update;
import dev.palimpsest.model.ForwardInput;
import dev.palimpsest.method.loka.LokaCodebook;
import dev.palimpsest.model.Generator;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.Scorer;
import dev.palimpsest.tensor.Tensors;
import dev.palimpsest.world.MicroWorld;

/**
 * LOKA on the micro world: the facts of one author are edited into counterfactuals and those of one company are
 * forgotten, in one update. Requests carry their first paraphrase; the second is held out for the router.
 */
class LokaTest {
    @TempDir
    Path tmp;

    private static String entity(QaItem q) {
        return q.id().split(":")[1];
    }

    /** The world's name of an entity id ("maple-systems" → "Maple Systems"). */
    private static String name(String id) {
        StringBuilder b = new StringBuilder();
        for (String w : id.split("-")) b.append(b.length() == 0 ? "" : " ").append(Character.toUpperCase(w.charAt(0))).append(w.substring(1));
        return b.toString();
    }

    private static QaItem withParaphrases(QaItem q, List<String> p) {
        return new QaItem(q.id(), q.question(), q.answer(), p, q.paraphrasedAnswer(), q.perturbedAnswers(), q.edge());
    }

    /** The update: edits, forgets (no paraphrases: requests never carry them), the retain set (first paraphrases only) and taught unknowns. */
    private record Setup(List<QaItem> edits, List<QaItem> forgets, List<QaItem> retain, List<KnowledgeRequest> requests) {
        static Setup of(Set<String> edited, Set<String> forgotten) {
            List<QaItem> pre = QaReader.read(MicroWorld.world("pretrain.json"), DataFormat.WORLD);
            List<QaItem> edits = new ArrayList<>(), forgets = new ArrayList<>(), retain = new ArrayList<>();
            List<KnowledgeRequest> reqs = new ArrayList<>();
            for (QaItem q : pre) {
                List<String> first = List.of(q.paraphrasedQuestions().get(0));
                if (edited.contains(entity(q))) {
                    edits.add(q);
                    reqs.add(new KnowledgeRequest(KnowledgeRequest.Kind.EDIT, q.question(), q.answer(), q.perturbedAnswers().get(0), null));
                } else if (forgotten.contains(entity(q))) {
                    forgets.add(q);
                    reqs.add(new KnowledgeRequest(KnowledgeRequest.Kind.FORGET, q.question(), q.answer(), "I don't know.", null));
                } else {
                    retain.add(withParaphrases(q, first));
                }
            }
            retain.addAll(QaReader.read(MicroWorld.world("unseen.json"), DataFormat.WORLD).stream().map(q -> withParaphrases(q, List.of())).toList());
            return new Setup(edits, forgets, retain, reqs);
        }
    }

    private static long[] ids(LanguageModel m, String question) {
        return m.tokenizer().encodePrompt(m.questionFormat().prompt(question));
    }

    private static float[] logits(LanguageModel m, String question) {
        long[] ids = ids(m, question);
        try (NoGradGuard g = new NoGradGuard()) {
            return Tensors.toFloats(m.net().logits(m.net().hidden(ForwardInput.of(Tensors.longs(ids, 1, ids.length)), null)));
        }
    }

    private static boolean routed(LanguageModel m, LokaCodebook c, String question) {
        logits(m, question);
        return c.lastRoute()[0] >= 0;
    }

    private static double share(LanguageModel m, LokaCodebook c, List<String> questions) {
        return questions.stream().filter(q -> routed(m, c, q)).count() / (double) questions.size();
    }

    /** The share of questions whose greedy answer still contains the given answer (what a user would read). */
    private static double said(LanguageModel m, List<String> questions, List<String> answers) {
        List<Generator.Generation> g = Generator.greedy(m, questions.stream().map(q -> m.questionFormat().prompt(q)).toList(), 16, 8);
        int n = 0;
        for (int i = 0; i < questions.size(); i++) if (g.get(i).text().toLowerCase().contains(answers.get(i).toLowerCase())) n++;
        return n / (double) questions.size();
    }

    /** Teacher-forced top-1 accuracy of the answers' tokens. */
    private static double accuracy(LanguageModel m, List<String> questions, List<String> answers) {
        List<long[]> p = new ArrayList<>(), t = new ArrayList<>();
        for (int i = 0; i < questions.size(); i++) {
            p.add(ids(m, questions.get(i)));
            t.add(m.questionFormat().answerIds(m.tokenizer(), answers.get(i)));
        }
        try (NoGradGuard g = new NoGradGuard()) {
            return Scorer.scoreIds(m.net(), p, t, 16, m.tokenizer().padId()).stream().mapToDouble(Scorer.Scored::accuracy).average().orElseThrow();
        }
    }

    @Test
    void editsAndForgetsAtOnceRoutesHeldOutParaphrasesAndDetachesToTheBaseModel() throws IOException {
        Setup s = Setup.of(Set.of("hana-wexford"), Set.of("maple-systems", "maple-dynamics"));
        List<String> editQ = s.edits().stream().map(QaItem::question).toList(), editT = s.edits().stream().map(q -> q.perturbedAnswers().get(0)).toList();
        List<String> forgetQ = s.forgets().stream().map(QaItem::question).toList(), forgetA = s.forgets().stream().map(QaItem::answer).toList();
        try (LanguageModel m = LanguageModel.load(MicroWorld.model()); LanguageModel base = LanguageModel.load(MicroWorld.model());
                PointerScope scope = new PointerScope()) {
            double editBefore = accuracy(m, editQ, editT), forgetBefore = said(m, forgetQ, forgetA);
            // Three layers: the router reads layers 0 and 1, the memories sit on layer 2. Router threshold 0.5, not the
            // default 0.25: this tiny model mixes little context into a token, so a name it never met that begins with
            // the subword of an updated name ("Ha" of "Hana", "Hawthorne") needs more evidence to be told apart (at 0.3,
            // 7 of 32 questions about never-met entities routed; at 0.5 none, and all 15 paraphrases).
            Update u = MethodRegistry.get("loka").apply(m, m.questionFormat(), s.requests(), s.retain(),
                    Map.of("router_layers", "0,1", "memory_layers", "2", "router_threshold", "0.5"), 0);
            LokaCodebook c = (LokaCodebook) m.memories().get(0);
            double editAfter = accuracy(m, editQ, editT), forgetAfter = said(m, forgetQ, forgetA);
            // 0.72 on one of our machines, above 0.8 on another: the micro model trained in the test differs with the CPU's float kernels.
            assertTrue(editAfter >= 0.7 && editAfter > editBefore + 0.3, "edits: " + editBefore + " -> " + editAfter);
            System.out.printf("loka micro: forgotten answers said %.3f -> %.3f%n", forgetBefore, forgetAfter);
            assertTrue(forgetBefore >= 0.8 && forgetAfter <= 0.3, "forgotten answers said: " + forgetBefore + " -> " + forgetAfter);

            // The router, on prompts it never saw: the held-out paraphrases of the updates, held-out phrasings of other
            // known facts, and questions about entities outside the update that the model never met.
            List<String> heldOut = new ArrayList<>();
            for (QaItem q : s.edits()) heldOut.add(q.paraphrasedQuestions().get(1));
            for (QaItem q : s.forgets()) heldOut.add(q.paraphrasedQuestions().get(1));
            List<QaItem> pre = QaReader.read(MicroWorld.world("pretrain.json"), DataFormat.WORLD);
            Set<String> updated = Set.of("Hana Wexford", "Maple Systems", "Maple Dynamics");
            List<String> otherKnown = pre.stream().filter(q -> updated.stream().noneMatch(q.question()::contains))
                    .map(q -> q.paraphrasedQuestions().get(1)).toList();
            List<String> neverMet = new ArrayList<>();
            for (String f : List.of("finetune.json", "unseen_heldout.json"))
                for (QaItem q : QaReader.read(MicroWorld.world(f), DataFormat.WORLD))
                    if (updated.stream().noneMatch(q.question()::contains)) neverMet.add(q.question());
            double para = share(m, c, heldOut), known = share(m, c, otherKnown), unseen = share(m, c, neverMet);
            System.out.printf("loka micro: edits %.3f -> %.3f, forgotten answers %.3f -> %.3f; routed: held-out paraphrases %.3f, other known facts %.3f, never-met entities %.3f%n",
                    editBefore, editAfter, forgetBefore, forgetAfter, para, known, unseen);
            // 13 of 15 with the first (linear) router while it trained on each update's first dataset paraphrase (a leak);
            // 8 of 15 without the leak; the router of keys routes all 15.
            assertTrue(para >= 0.8, "held-out paraphrases routed to a memory: " + para);
            // Unrelated prompts, both kinds together (22 and 32 of them): 3 of 54 with the linear router, none with the keys.
            double unrelated = (known * otherKnown.size() + unseen * neverMet.size()) / (otherKnown.size() + neverMet.size());
            assertTrue(unrelated <= 0.1, "unrelated questions routed: " + unrelated + " (other known facts " + known + ", never-met entities " + unseen + ")");

            // Save and load keep the memories and the router; removing the codebook restores the base model exactly.
            Path dir = tmp.resolve("updated");
            m.save(dir);
            try (LanguageModel again = LanguageModel.load(dir)) {
                LokaCodebook c2 = (LokaCodebook) again.memories().get(0);
                assertEquals(c.size(), c2.size());
                for (String q : List.of(editQ.get(0), forgetQ.get(0), otherKnown.get(0))) {
                    assertArrayEquals(logits(m, q), logits(again, q), 1e-5f, q);
                    assertEquals(c.lastRoute()[0], c2.lastRoute()[0], q);
                }
            }
            assertTrue(routed(m, c, editQ.get(0)));
            u.remove();
            for (String q : List.of(editQ.get(0), forgetQ.get(0), otherKnown.get(0))) assertArrayEquals(logits(base, q), logits(m, q), 0f, q);
        }
    }

    /**
     * A second update on a model with a codebook is placed by LSH, its edits and its forgets apart; earlier requests
     * are kept and trained on again.
     */
    @Test
    void aSecondUpdateIsPlacedWithoutReclusteringAndKeepsTheFirst() throws IOException {
        Setup first = Setup.of(Set.of("matteo-falkenrath"), Set.of()), second = Setup.of(Set.of("dagny-yilmazer"), Set.of("maple-systems"));
        List<QaItem> retain = new ArrayList<>(first.retain());
        retain.removeIf(q -> Set.of("dagny-yilmazer", "maple-systems").contains(entity(q)));
        try (LanguageModel m = LanguageModel.load(MicroWorld.model()); PointerScope scope = new PointerScope()) {
            // 100 passes, not the default 200: placement is under test here, and the two updates train three times.
            Map<String, String> set = new HashMap<>(Map.of("capacity", "8", "epochs", "100"));
            MethodRegistry.get("loka").apply(m, m.questionFormat(), first.requests(), retain, set, 0);
            LokaCodebook c = (LokaCodebook) m.memories().get(0);
            int before = c.size();
            Update u = MethodRegistry.get("loka").apply(m, m.questionFormat(), second.requests(), retain, set, 1);
            assertEquals(1, m.memories().size(), "the same codebook grows");
            assertTrue(c.size() >= before, before + " -> " + c.size());
            assertTrue(c.state().contains(first.edits().get(0).question()) && c.state().contains(second.edits().get(0).question()));
            double a1 = accuracy(m, first.edits().stream().map(QaItem::question).toList(), first.edits().stream().map(q -> q.perturbedAnswers().get(0)).toList());
            double a2 = accuracy(m, second.edits().stream().map(QaItem::question).toList(), second.edits().stream().map(q -> q.perturbedAnswers().get(0)).toList());
            assertTrue(a1 >= 0.7 && a2 >= 0.7, "first update " + a1 + ", second " + a2);
            Map<Integer, Set<String>> kinds = new HashMap<>();
            for (com.fasterxml.jackson.databind.JsonNode r : new com.fasterxml.jackson.databind.ObjectMapper().readTree(c.state()).get("requests"))
                kinds.computeIfAbsent(r.get("memory").asInt(), k -> new java.util.TreeSet<>()).add(r.get("kind").asText());
            assertTrue(kinds.values().contains(Set.of("FORGET")), "the forgets have a memory: " + kinds);
            assertTrue(kinds.values().stream().allMatch(k -> k.size() == 1), "no memory holds both tasks: " + kinds);
            assertThrowsUserError(u);
        }
    }

    private static void assertThrowsUserError(Update u) {
        try {
            u.remove();
        } catch (dev.palimpsest.UserError e) {
            return;
        }
        throw new AssertionError("removing an update that added to an existing codebook must be refused");
    }

    /** The joint fine-tuning baseline learns the edits and lowers the forgotten answers in one run. */
    @Test
    void jointFineTuningEditsAndForgets() {
        Setup s = Setup.of(Set.of("hana-wexford"), Set.of("maple-systems"));
        List<String> editQ = s.edits().stream().map(QaItem::question).toList(), editT = s.edits().stream().map(q -> q.perturbedAnswers().get(0)).toList();
        List<String> forgetQ = s.forgets().stream().map(QaItem::question).toList(), forgetA = s.forgets().stream().map(QaItem::answer).toList();
        try (LanguageModel m = LanguageModel.load(MicroWorld.model()); PointerScope scope = new PointerScope()) {
            double e0 = accuracy(m, editQ, editT), f0 = accuracy(m, forgetQ, forgetA);
            MethodRegistry.get("joint").apply(m, m.questionFormat(), s.requests(), s.retain(), Map.of("forget_loss", "ga", "retain", "nll", "lr", "2e-3"), 0);
            double e1 = accuracy(m, editQ, editT), f1 = accuracy(m, forgetQ, forgetA);
            assertTrue(e1 > e0 + 0.3, "edits " + e0 + " -> " + e1);
            assertTrue(f1 < f0 - 0.3, "forgotten answers " + f0 + " -> " + f1);
        }
    }
}
