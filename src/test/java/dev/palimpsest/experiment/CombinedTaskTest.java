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
        assertEquals(6, rows.size());
        for (int round : new int[] {1, 2}) {
            for (String split : List.of("edit", "forget", "retain")) {
                ResultRow row = rows.stream().filter(x -> x.round() == round && x.split().equals(split)).findFirst().orElseThrow();
                int expected = split.equals("retain") ? s.retain().size() : 2 * round;
                assertEquals(expected, ((Number) row.metrics().get("n")).intValue(), split + " after round " + round);
            }
        }
        double rel = rows.stream().filter(x -> x.round() == 2 && x.split().equals("edit")).findFirst().orElseThrow().metric("reliability");
        assertTrue(rel >= 0 && rel <= 1);
        String md = dev.palimpsest.report.CombinedReport.roundsMarkdown(rows, "t");
        assertTrue(md.contains("| FT + NPO | 1 |") && md.contains("| FT + NPO | 2 |"), md);
        assertThrows(UserError.class, () -> CombinedTask.runRounds("micro", MicroWorld.model(), s, v, 5, 0, Evaluator.Options.DEFAULT,
                new PrintWriter(new StringWriter())));
    }
}
