package dev.palimpsest.report;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.palimpsest.experiment.CombinedTask;
import dev.palimpsest.experiment.ResultRow;
import dev.palimpsest.io.AtomicFiles;

/**
 * The combined task's report (LOKA's: edit and forget at once): one line per method, or per method and round with a
 * chart per column, from the rows of its runs. Each row names its round.
 */
public final class CombinedReport {
    private CombinedReport() {}

    /** Writes report.md (the table, and with several rounds the charts) into {@code dir}; returns its Markdown. */
    public static String write(List<ResultRow> rows, Path dir, String title, boolean rounds) throws IOException {
        String md;
        if (!rounds) {
            md = markdown(rows, title);
        } else {
            StringBuilder plots = new StringBuilder(roundsMarkdown(rows, title));
            for (String column : List.of("edit reliability", "forget R1", "retain R1")) {
                String file = Plots.lines(dir, column.replace(' ', '-') + "-by-round.png", column + " after each round", "round", column,
                        roundSeries(rows, column));
                plots.append("\n![").append(file).append("](").append(file).append(")\n");
            }
            md = plots.toString();
        }
        AtomicFiles.writeString(dir.resolve("report.md"), md);
        return md;
    }

    /** The sequential curve: one line per method and round (rows from {@link #runRounds}). */
    public static String roundsMarkdown(List<ResultRow> rows, String title) {
        StringBuilder sb = new StringBuilder("# ").append(title).append("\n\n").append(header(List.of("method", "round"), columns(rows), "update s (total)"));
        for (String method : rows.stream().map(ResultRow::method).distinct().toList())
            for (int r : rows.stream().filter(x -> x.method().equals(method)).mapToInt(ResultRow::round).distinct().sorted().toArray()) {
                List<ResultRow> mine = rows.stream().filter(x -> x.method().equals(method) && x.round() == r).toList();
                sb.append("| ").append(method).append(" | ").append(r).append(" |");
                for (double v : CombinedTask.summary(mine).values()) sb.append(Double.isNaN(v) ? " – |" : String.format(" %.3f |", v));
                sb.append(String.format(" %.1f |%n", mine.get(0).updateSeconds()));
            }
        return sb.toString();
    }

    /** The table's columns: those of {@link CombinedTask#summary} for the first method's rows (every method has the same). */
    private static List<String> columns(List<ResultRow> rows) {
        String first = rows.get(0).method();
        long seed = rows.get(0).seed();
        int round = rows.get(0).round();
        return List.copyOf(CombinedTask.summary(rows.stream().filter(r -> r.method().equals(first) && r.seed() == seed && r.round() == round).toList()).keySet());
    }

    /** A Markdown header row with each column's direction: ↑ where higher is better. */
    private static String header(List<String> lead, List<String> columns, String last) {
        StringBuilder h = new StringBuilder("|");
        for (String c : lead) h.append(' ').append(c).append(" |");
        for (String c : columns)
            h.append(' ').append(c.replace("Prob", "Prob.").replace("forget rephrased R1", "forget R1, rephrased")).append(c.startsWith("forget") ? " ↓ |" : " ↑ |");
        h.append(' ').append(last).append(" |\n|");
        h.append("---|".repeat(lead.size() + columns.size() + 1)).append('\n');
        return h.toString();
    }

    /** Per method, a column of the table against the round: the series of a line chart. */
    public static Map<String, double[][]> roundSeries(List<ResultRow> rows, String column) {
        Map<String, double[][]> out = new LinkedHashMap<>();
        for (String method : rows.stream().map(ResultRow::method).distinct().toList()) {
            int[] rounds = rows.stream().filter(x -> x.method().equals(method)).mapToInt(ResultRow::round).distinct().sorted().toArray();
            double[][] xy = new double[2][rounds.length];
            for (int i = 0; i < rounds.length; i++) {
                int r = rounds[i];
                xy[0][i] = r;
                xy[1][i] = CombinedTask.summary(rows.stream().filter(x -> x.method().equals(method) && x.round() == r).toList()).get(column);
            }
            out.put(method, xy);
        }
        return out;
    }

    /**
     * The combined-task table: one line per method. With rows of several split seeds, each cell is the mean ± the
     * (population) standard deviation over the seeds, and the seconds are the mean.
     */
    public static String markdown(List<ResultRow> rows, String title) {
        List<Long> seeds = rows.stream().map(ResultRow::seed).distinct().toList();
        List<String> columns = columns(rows);
        StringBuilder sb = new StringBuilder("# ").append(title).append(seeds.size() > 1 ? " (mean ± sd over split seeds " + seeds + ")" : "")
                .append("\n\n").append(header(List.of("method"), columns, "update s"));
        for (String method : rows.stream().map(ResultRow::method).distinct().toList()) {
            List<Map<String, Double>> perSeed = new java.util.ArrayList<>();
            double seconds = 0;
            for (long seed : seeds) {
                List<ResultRow> mine = rows.stream().filter(r -> r.method().equals(method) && r.seed() == seed).toList();
                if (mine.isEmpty()) continue;
                perSeed.add(CombinedTask.summary(mine));
                seconds += mine.get(0).updateSeconds();
            }
            sb.append("| ").append(method).append(" |");
            for (String column : columns) {
                double[] v = perSeed.stream().mapToDouble(m -> m.get(column)).toArray();
                double mean = java.util.Arrays.stream(v).average().orElse(Double.NaN);
                double sd = Math.sqrt(java.util.Arrays.stream(v).map(x -> (x - mean) * (x - mean)).average().orElse(0));
                sb.append(Double.isNaN(mean) ? " – |" : v.length == 1 ? String.format(" %.3f |", mean) : String.format(" %.3f ± %.3f |", mean, sd));
            }
            sb.append(String.format(" %.1f |%n", seconds / perSeed.size()));
        }
        sb.append("\nEdit reliability / generalization: teacher-forced top-1 accuracy of the new target on the edited question / on a paraphrase no method saw; "
                + "locality: share of retain-answer tokens whose top prediction is unchanged (outside: on the " + CombinedTask.outsideWorld().size() + " shipped general-knowledge questions from outside the world); R1: ROUGE-1 recall of the greedy answer; "
                + "Prob.: answer probability (the product of its token probabilities)"
                + (columns.contains("benign R1") ? "; safety setting: forget = the unsafe answers of the harmful requests (rephrased: on a held-out rephrasing), "
                        + "benign R1 = the safe answers of held-out benign requests about the same people" : "") + ".\n");
        return sb.toString();
    }
}
