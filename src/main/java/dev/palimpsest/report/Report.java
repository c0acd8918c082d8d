package dev.palimpsest.report;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.ObjectMapper;

import dev.palimpsest.experiment.ResultRow;
import dev.palimpsest.io.AtomicFiles;
import dev.palimpsest.io.Json;

/**
 * Turns result rows into what a person reads: Markdown tables in the papers' layout (methods ×
 * {forget ↓, retain ↑, rephrased ↓, factual ↑} × metrics), a CSV of every row, the rows as JSON
 * Lines, and PNG plots against the number of forget samples.
 */
public final class Report {
    private Report() {}

    static final String[][] SPLITS = {{"forget", "↓"}, {"retain", "↑"}, {"rephrased", "↓"}, {"factual", "↑"}};
    static final String[][] METRICS = {{"rouge1_recall", "R1"}, {"probability", "Prob."}, {"mrr", "MRR"}, {"hit_rate", "Hit"}};

    /** Writes results.jsonl, results.csv, report.md and the plots into {@code dir}; returns the Markdown. */
    public static String write(List<ResultRow> rows, Path dir, String title) throws IOException {
        writeRows(rows, dir);
        String md = markdown(rows, title);
        List<String> plots = Plots.write(rows, dir);
        StringBuilder withPlots = new StringBuilder(md);
        for (String p : plots) withPlots.append("\n![").append(p).append("](").append(p).append(")\n");
        AtomicFiles.writeString(dir.resolve("report.md"), withPlots.toString());
        return md;
    }

    /** Writes every row into results.jsonl and results.csv in {@code dir}. */
    public static void writeRows(List<ResultRow> rows, Path dir) throws IOException {
        ObjectMapper om = Json.MAPPER;
        StringBuilder jsonl = new StringBuilder();
        for (ResultRow r : rows) jsonl.append(om.writeValueAsString(r)).append('\n');
        AtomicFiles.writeString(dir.resolve("results.jsonl"), jsonl.toString());
        AtomicFiles.writeString(dir.resolve("results.csv"), csv(rows));
    }

    public static String markdown(List<ResultRow> rows, String title) {
        StringBuilder sb = new StringBuilder("# ").append(title).append("\n");
        for (String setting : distinct(rows, ResultRow::setting)) {
            List<ResultRow> in = rows.stream().filter(r -> r.setting().equals(setting)).toList();
            int n = in.stream().mapToInt(ResultRow::forgetSize).max().orElse(0);
            List<ResultRow> atN = in.stream().filter(r -> r.forgetSize() == n).toList();
            Set<String> splits = new LinkedHashSet<>();
            for (String[] s : SPLITS) if (atN.stream().anyMatch(r -> r.split().equals(s[0]))) splits.add(s[0]);
            sb.append("\n## ").append(setting).append(" (").append(n).append(" forget samples)\n\n| method |");
            StringBuilder sep = new StringBuilder("|---|");
            for (String[] s : SPLITS) {
                if (!splits.contains(s[0])) continue;
                for (String[] m : METRICS) {
                    sb.append(' ').append(s[0]).append(' ').append(m[1]).append(' ').append(s[1]).append(" |");
                    sep.append("---|");
                }
            }
            sb.append(" score ↑ | update s |\n").append(sep).append("---|---|\n");
            for (String method : distinct(atN, ResultRow::method)) {
                sb.append("| ").append(method).append(" |");
                Map<String, ResultRow> bySplit = new LinkedHashMap<>();
                for (ResultRow r : atN) if (r.method().equals(method)) bySplit.putIfAbsent(r.split(), r);
                for (String[] s : SPLITS) {
                    if (!splits.contains(s[0])) continue;
                    ResultRow r = bySplit.get(s[0]);
                    for (String[] m : METRICS) sb.append(' ').append(r == null ? "–" : fmt(r.metric(m[0]))).append(" |");
                }
                sb.append(' ').append(fmt(score(bySplit.get("forget"), bySplit.get("retain")))).append(" |");
                ResultRow any = bySplit.values().iterator().next();
                sb.append(String.format(" %.1f |%n", any.updateSeconds()));
            }
        }
        sb.append("\nR1 = ROUGE-1 recall of the greedy answer; Prob. = answer probability (the product of its token probabilities); "
                + "MRR = mean reciprocal rank of the answer tokens, Hit = share of them in the top 100, each ranked at its step of the greedy answer (as PISTOL); "
                + "score = 1 − R1(forget) + R1(retain). ↓: lower is better, ↑: higher is better.\n");
        return sb.toString();
    }

    /** The papers' summary score: forgetting and keeping at once. */
    public static double score(ResultRow forget, ResultRow retain) {
        if (forget == null || retain == null) return Double.NaN;
        return 1 - forget.metric("rouge1_recall") + retain.metric("rouge1_recall");
    }

    static String csv(List<ResultRow> rows) {
        Set<String> keys = new TreeSet<>();
        for (ResultRow r : rows) keys.addAll(r.metrics().keySet());
        StringBuilder sb = new StringBuilder("setting,method,forget_size,round,seed,split,update_seconds");
        for (String k : keys) sb.append(',').append(k);
        sb.append('\n');
        for (ResultRow r : rows) {
            sb.append(String.join(",", r.setting(), r.method(), String.valueOf(r.forgetSize()), String.valueOf(r.round()), String.valueOf(r.seed()),
                    r.split(), String.valueOf(r.updateSeconds())));
            for (String k : keys) {
                Object v = r.metrics().get(k);
                // A metric that could not be computed is an empty cell, not "NaN".
                boolean missing = v == null || (v instanceof Double d && !Double.isFinite(d)) || (v instanceof Float f && !Float.isFinite(f));
                sb.append(',').append(missing ? "" : v);
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    static String fmt(double v) {
        return Double.isFinite(v) ? String.format("%.3f", v) : "–";
    }

    static List<String> distinct(List<ResultRow> rows, java.util.function.Function<ResultRow, String> key) {
        return new ArrayList<>(new LinkedHashSet<>(rows.stream().map(key).toList()));
    }
}
