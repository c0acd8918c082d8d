package dev.palimpsest.experiment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import dev.palimpsest.UserError;
import dev.palimpsest.data.DataFormat;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.data.QaReader;
import dev.palimpsest.eval.Evaluator;
import dev.palimpsest.request.KnowledgeRequest;
import dev.palimpsest.world.MicroWorld;
import dev.palimpsest.world.SafetyModel;
import dev.palimpsest.world.SafetySet;
import dev.palimpsest.world.WorldGenerator;

class CombinedTaskTest {
    @Test
    void splitsThePoolIntoDisjointEditsForgetsAndRetainWithHeldOutParaphrases() {
        List<QaItem> pool = QaReader.read(MicroWorld.world("pretrain.json"), DataFormat.WORLD);
        CombinedTask.Split s = CombinedTask.Split.of(pool, 5, 6, 3);
        Set<String> ids = new HashSet<>();
        for (List<QaItem> part : List.of(s.edits(), s.forgets(), s.retain())) for (QaItem q : part) assertTrue(ids.add(q.id()), "twice: " + q.id());
        assertEquals(pool.size(), ids.size());
        List<KnowledgeRequest> r = s.requests();
        assertEquals(11, r.size());
        assertEquals(KnowledgeRequest.Kind.EDIT, r.get(0).kind());
        assertEquals(s.edits().get(0).perturbedAnswers().get(0), r.get(0).target());
        assertEquals(KnowledgeRequest.Kind.FORGET, r.get(5).kind());
        assertThrows(UserError.class, () -> CombinedTask.Split.of(pool, pool.size(), 0, 0));
    }

    /** Two rounds of joint fine-tuning on the micro model: rows per round, measured on the requests so far. */
    @Test
    void sequentialRoundsAreMeasuredOnTheRequestsSoFar() {
        List<QaItem> pool = QaReader.read(MicroWorld.world("pretrain.json"), DataFormat.WORLD);
        CombinedTask.Split s = CombinedTask.Split.of(pool, 4, 4, 0);
        var v = new CombinedTask.Variant("FT + NPO", "joint", Map.of("epochs", "3"));
        List<ResultRow> rows = CombinedTask.runRounds("micro", MicroWorld.model(), s, v, 2, 0, Evaluator.Options.DEFAULT, new PrintWriter(new StringWriter()));
        assertEquals(8, rows.size());
        for (int round : new int[] {1, 2}) {
            for (String split : List.of("edit", "forget", "retain")) {
                ResultRow row = rows.stream().filter(x -> x.round() == round && x.split().equals(split)).findFirst().orElseThrow();
                int expected = split.equals("retain") ? s.retain().size() : 2 * round;
                assertEquals(expected, ((Number) row.metrics().get("n")).intValue(), split + " after round " + round);
            }
        }
        for (ResultRow outside : rows.stream().filter(x -> x.split().equals("outside")).toList())
            assertTrue(outside.metric("locality") < 0.99, "full fine-tuning moves answers to questions from outside the world: " + outside.metric("locality"));
        double rel = rows.stream().filter(x -> x.round() == 2 && x.split().equals("edit")).findFirst().orElseThrow().metric("reliability");
        assertTrue(rel >= 0 && rel <= 1);
        String md = dev.palimpsest.report.CombinedReport.roundsMarkdown(rows, "t");
        assertTrue(md.contains("| FT + NPO | 1 |") && md.contains("| FT + NPO | 2 |"), md);
        assertThrows(UserError.class, () -> CombinedTask.runRounds("micro", MicroWorld.model(), s, v, 5, 0, Evaluator.Options.DEFAULT,
                new PrintWriter(new StringWriter())));
    }

    /** An update that changes nothing keeps every outside answer; the shipped set is real questions with answers. */
    @Test
    void untouchedModelKeepsOutsideLocality() {
        List<CombinedTask.OutsideQuestion> outside = CombinedTask.outsideWorld();
        assertTrue(outside.size() >= 50, "outside questions: " + outside.size());
        for (CombinedTask.OutsideQuestion q : outside) assertTrue(q.question().endsWith("?") && !q.answer().isBlank(), q.toString());
        CombinedTask.Split s = CombinedTask.Split.of(QaReader.read(MicroWorld.world("pretrain.json"), DataFormat.WORLD), 2, 2, 0);
        List<ResultRow> rows = CombinedTask.run("micro", MicroWorld.model(), s, new CombinedTask.Variant("none", "none", Map.of()), 0,
                Evaluator.Options.DEFAULT, new PrintWriter(new StringWriter()));
        assertEquals(1.0, CombinedTask.summary(rows).get("outside locality"), 1e-12);
    }

    /**
     * The safety setting: harmful requests are forgotten into their own safe answers; half the benign requests join the
     * retain data, the other half is held out and measured, with the harmful requests' held-out rephrasings.
     */
    @Test
    void safetySplitForgetsIntoSafeAnswersAndHoldsOutBenignRequests() {
        List<SafetySet.Request> set = SafetySet.generate(WorldGenerator.MICRO.generate(5), 3, 3, 5);
        List<QaItem> harmful = SafetyModel.harmful(set), benign = SafetyModel.benign(set);
        List<QaItem> pool = QaReader.read(MicroWorld.world("pretrain.json"), DataFormat.WORLD);
        CombinedTask.Split s = CombinedTask.Split.safety(pool, 2, harmful, benign, 0);
        List<KnowledgeRequest> r = s.requests();
        assertEquals(5, r.size());
        for (int i = 0; i < 3; i++) {
            assertEquals(harmful.get(i).question(), r.get(2 + i).question());
            assertEquals(set.get(i).safe(), r.get(2 + i).target(), "forgotten into its own safe answer");
        }
        assertEquals(2, s.benign().size());
        assertEquals(pool.size() - 2 + 1, s.retain().size(), "the other facts and one benign request");
        for (QaItem b : s.benign()) assertTrue(s.retain().stream().noneMatch(x -> x.question().equals(b.question())), "held out: " + b.question());
        List<ResultRow> rows = CombinedTask.run("micro", MicroWorld.model(), s, new CombinedTask.Variant("none", "none", Map.of()), 0,
                Evaluator.Options.DEFAULT, new PrintWriter(new StringWriter()));
        Map<String, Double> summary = CombinedTask.summary(rows);
        assertTrue(summary.containsKey("forget rephrased R1") && summary.containsKey("benign R1"), summary.toString());
        String md = dev.palimpsest.report.CombinedReport.markdown(rows, "t");
        assertTrue(md.contains("| forget R1, rephrased ↓ |") && md.contains("| benign R1 ↑ |") && md.contains("safety setting"), md);
        assertThrows(UserError.class, () -> CombinedTask.Split.safety(pool, 2, List.of(), benign, 0));
    }

    /** Rows of two split seeds: the table gives each column's mean ± population sd, by hand. */
    @Test
    void severalSplitSeedsGiveMeanAndSpread() {
        List<ResultRow> rows = new java.util.ArrayList<>();
        double[][] edit = {{0.8, 0.6}, {1.0, 0.4}};
        for (int i = 0; i < 2; i++) {
            rows.add(new ResultRow("t", "LOKA", 2, 1, 7 + i, "edit", Map.of("reliability", edit[i][0], "generalization", edit[i][1], "locality", 1.0), 10 + 10 * i));
            rows.add(new ResultRow("t", "LOKA", 2, 1, 7 + i, "forget", Map.of("rouge1_recall", 0.5 * i, "probability", 0.0), 10 + 10 * i));
            rows.add(new ResultRow("t", "LOKA", 2, 1, 7 + i, "retain", Map.of("rouge1_recall", 0.9), 10 + 10 * i));
            rows.add(new ResultRow("t", "LOKA", 2, 1, 7 + i, "outside", Map.of("locality", 0.7 + 0.2 * i), 10 + 10 * i));
        }
        String md = dev.palimpsest.report.CombinedReport.markdown(rows, "t");
        assertTrue(md.contains("| LOKA | 0.900 ± 0.100 | 0.500 ± 0.100 | 0.250 ± 0.250 | 0.000 ± 0.000 | 0.900 ± 0.000 | 1.000 ± 0.000 | 0.800 ± 0.100 | 15.0 |"), md);
        assertTrue(md.contains("split seeds [7, 8]"), md);
        String one = dev.palimpsest.report.CombinedReport.markdown(rows.subList(0, 4), "t");
        assertTrue(one.contains("| LOKA | 0.800 | 0.600 | 0.000 | 0.000 | 0.900 | 1.000 | 0.700 | 10.0 |"), one);
    }
}
