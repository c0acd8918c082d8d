package dev.palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.data.DataFormat;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.data.QaReader;
import dev.palimpsest.model.Generator;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.world.DefaultModel;

/**
 * No method trains on what measures it: an edit file's `rephrase` prompts (what generalization is scored on) are
 * unrelated nonsense questions here; had any method trained on them, it would have taught them the new target.
 * On the default model, before requests stopped carrying rephrasings, WISE answered "How many legs does a teacup
 * have?" with its edit's new target, "Ravenhold".
 */
class NoLeakCliTest {
    @TempDir
    Path tmp;

    static final List<String> NONSENSE = List.of("How many legs does a teacup have?", "Which vowel tastes the saltiest?",
            "When does a triangle go to sleep?");

    @ParameterizedTest
    @ValueSource(strings = {"ft", "rome", "memit", "grace", "wise", "joint", "loka"})
    void evaluationPromptsNeverReachAMethod(String method) throws IOException {
        DefaultModel.ensure(0, new PrintWriter(new StringWriter()));
        List<QaItem> pool = QaReader.read(DefaultModel.folder(0).resolve("world").resolve("pretrain.json"), DataFormat.WORLD);
        ObjectMapper om = new ObjectMapper();
        ArrayNode edits = om.createArrayNode();
        List<String> targets = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            QaItem q = pool.get(3 * i);
            ObjectNode e = edits.addObject();
            // The whole question as the subject: its last token is the prompt's last, where this world's facts are read.
            e.put("src", q.question()).put("subject", q.question()).put("alt", q.perturbedAnswers().get(0)).put("loc", pool.get(20 + i).question())
                    .put("loc_ans", pool.get(20 + i).answer());
            e.putArray("answers").add(q.answer());
            e.putArray("rephrase").add(NONSENSE.get(i));
            targets.add(q.perturbedAnswers().get(0));
        }
        Path file = tmp.resolve("edits.json"), out = tmp.resolve("out");
        Files.writeString(file, edits.toString());
        var run = CliHarness.run("update", "--model", "default", "--method", method, "--edit", file.toString(),
                "--format", "zsre", "--out", out.toString());
        assertEquals(0, run.code(), run.err());
        try (LanguageModel m = LanguageModel.load(out)) {
            List<String> prompts = NONSENSE.stream().map(q -> m.questionFormat().prompt(q)).toList();
            List<Generator.Generation> answers = Generator.greedy(m, prompts, 8, 4);
            for (int i = 0; i < NONSENSE.size(); i++)
                assertFalse(answers.get(i).text().contains(targets.get(i)),
                        method + " answers '" + NONSENSE.get(i) + "' with its edit's new target: " + answers.get(i).text());
        }
    }
}
