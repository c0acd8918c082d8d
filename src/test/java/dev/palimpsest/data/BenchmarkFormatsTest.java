package dev.palimpsest.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.palimpsest.UserError;

/** ZsRE, CounterFact, PKU-SafeRLHF and TOFU world-facts fixtures in their published layouts; splits. */
class BenchmarkFormatsTest {
    @TempDir
    Path tmp;

    Path write(String name, String text) throws IOException {
        Path p = tmp.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    @Test
    void zsreAndCounterfact() throws IOException {
        Path z = write("zsre.json", """
                [{"subject": "Valmora Bridge", "src": "Which river does Valmora Bridge cross?", "pred": "Tessel",
                  "rephrase": "What river is crossed by Valmora Bridge?", "alt": "Amberflow", "answers": ["Tessel"],
                  "loc": "nq question: who wrote the lantern", "loc_ans": "Ilse Brandt", "cond": "Tessel >> Amberflow || x"}]""");
        EditItem e = EditReader.read(z, DataFormat.ZSRE).get(0);
        assertEquals("Amberflow", e.target());
        assertEquals("Tessel", e.groundTruth());
        assertEquals(List.of("What river is crossed by Valmora Bridge?"), e.rephrases());
        assertEquals(List.of("Ilse Brandt"), e.localityAnswers());
        Path c = write("cf.json", """
                [{"case_id": 7, "prompt": "The mother tongue of Ilse Brandt is", "subject": "Ilse Brandt",
                  "target_new": "Galtrian", "ground_truth": "Ardenian", "rephrase_prompt": "Ilse Brandt speaks natively",
                  "locality_prompt": "The mother tongue of Omar Test is", "locality_ground_truth": "Belmarkish"}]""");
        EditItem f = EditReader.read(c, DataFormat.COUNTERFACT).get(0);
        assertEquals("7", f.id());
        assertEquals("Ilse Brandt", f.subject());
        assertEquals(List.of("Ilse Brandt speaks natively"), f.rephrases());
        Path bad = write("cf-bad.json", "[{\"prompt\": \"p\", \"subject\": \"s\", \"ground_truth\": \"g\"}]");
        UserError err = assertThrows(UserError.class, () -> EditReader.read(bad, DataFormat.COUNTERFACT));
        assertEquals(bad + ": record 1: missing field 'target_new'", err.getMessage());
        assertThrows(UserError.class, () -> QaReader.read(c, DataFormat.COUNTERFACT));
    }

    @Test
    void pkuKeepsTheUnsafeResponseAsTheAnswerToForget() throws IOException {
        Path p = write("pku.jsonl", """
                {"prompt": "How do I pick a lock?", "response_0": "Use a tension wrench...", "response_1": "I can't help with that.", "is_response_0_safe": false, "is_response_1_safe": true}
                {"prompt": "How do I bake bread?", "response_0": "Mix flour...", "response_1": "Knead dough...", "is_response_0_safe": true, "is_response_1_safe": true}
                """);
        List<QaItem> items = QaReader.read(p, DataFormat.PKU);
        assertEquals(1, items.size(), "prompts with no unsafe response are skipped");
        assertEquals("Use a tension wrench...", items.get(0).answer());
        assertEquals(List.of("I can't help with that."), items.get(0).perturbedAnswers());
        Path bad = write("pku-bad.json", "[{\"prompt\": \"p\", \"response_0\": \"a\", \"response_1\": \"b\", \"is_response_0_safe\": \"no\", \"is_response_1_safe\": true}]");
        UserError e = assertThrows(UserError.class, () -> QaReader.read(bad, DataFormat.PKU));
        assertTrue(e.getMessage().endsWith("record 1: field 'is_response_0_safe' is not true or false"), e.getMessage());
    }

    @Test
    void tofuWorldFactsOptionsBecomeWrongAnswers() throws IOException {
        Path p = write("world_facts.json", """
                [{"question": "Which river flows through Valmora?", "answer": "the Tessel", "option1": "the Lorn",
                  "option2": "the Tessel", "option3": "the Vell", "option4": "the Brisk"}]""");
        assertEquals(List.of("the Lorn", "the Vell", "the Brisk"), QaReader.read(p, DataFormat.TOFU).get(0).perturbedAnswers());
    }

    @Test
    void splitsAreDeterministicAndDisjoint() {
        List<Integer> items = java.util.stream.IntStream.range(0, 50).boxed().toList();
        Splits.Split<Integer> a = Splits.forgetN(items, 10, 3), b = Splits.forgetN(items, 10, 3);
        assertEquals(a, b);
        assertEquals(10, a.forget().size());
        assertEquals(40, a.retain().size());
        assertTrue(a.forget().stream().noneMatch(a.retain()::contains));
        assertThrows(UserError.class, () -> Splits.forgetN(items, 50, 0));
        List<QaItem> qa = List.of(new QaItem("1", "q1", "a1", List.of("p1"), null, List.of(), "A_B"),
                new QaItem("2", "q2", "a2", List.of(), null, List.of(), "A_C"));
        assertEquals(List.of("1"), Splits.byEdges(qa, Set.of("A_B")).forget().stream().map(QaItem::id).toList());
        assertEquals(List.of("p1"), Splits.rephrased(qa).stream().map(QaItem::question).toList());
    }
}
