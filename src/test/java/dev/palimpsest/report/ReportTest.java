package dev.palimpsest.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.palimpsest.experiment.ResultRow;

class ReportTest {
    @TempDir
    Path tmp;

    static ResultRow row(String method, int n, String split, double r1) {
        return new ResultRow("pretrained knowledge", method, n, 1, 0, split,
                Map.of("n", n, "rouge1_recall", r1, "probability", 0.5, "mrr", 0.25, "hit_rate", 1.0), 1.5);
    }

    @Test
    void tablesCsvJsonlAndPlots() throws IOException {
        List<ResultRow> rows = new ArrayList<>();
        for (int n : new int[] {10, 20}) {
            rows.add(row("none", n, "forget", 0.9));
            rows.add(row("none", n, "retain", 0.95));
            rows.add(row("ft", n, "forget", 0.2));
            rows.add(row("ft", n, "retain", 0.6));
        }
        String md = Report.write(rows, tmp, "test");
        assertTrue(md.contains("## pretrained knowledge (20 forget samples)"), md);
        assertTrue(md.contains("| forget R1 ↓ |") && md.contains("| retain R1 ↑ |"), md);
        // score = 1 - 0.2 + 0.6 = 1.4 for ft, 1 - 0.9 + 0.95 = 1.05 for none.
        assertTrue(md.contains("| ft | 0.200 | 0.500 | 0.250 | 1.000 | 0.600 | 0.500 | 0.250 | 1.000 | 1.400 | 1.5 |"), md);
        assertTrue(md.contains("| none | 0.900 |") && md.contains("| 1.050 |"), md);
        assertEquals(9, Files.readAllLines(tmp.resolve("results.csv")).size());
        assertEquals(8, Files.readAllLines(tmp.resolve("results.jsonl")).size());
        for (String png : List.of("pretrained-knowledge-forget-rouge1.png", "pretrained-knowledge-score.png")) {
            byte[] b = Files.readAllBytes(tmp.resolve(png));
            assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, java.util.Arrays.copyOf(b, 4), png);
        }
        assertTrue(Files.readString(tmp.resolve("report.md")).contains("](pretrained-knowledge-score.png)"));
    }
}
