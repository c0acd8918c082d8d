package dev.palimpsest.experiment;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import dev.palimpsest.io.AtomicFiles;
import dev.palimpsest.io.Json;
import dev.palimpsest.report.Report;

/**
 * {@code experiment collect}: every finished cell's rows merged into the usual report (report.md, results.csv,
 * results.jsonl, plots) in the grid folder, with cells.csv (each cell's method, size, seed, wall time and peak memory),
 * and the cells still missing or failed, with the {@code --array=} that re-submits just those.
 */
public final class GridReport {
    private GridReport() {}

    public record Collected(List<ResultRow> rows, List<Integer> finished, List<Integer> missing, Map<Integer, String> failed) {
        public boolean complete() {
            return missing.isEmpty() && failed.isEmpty();
        }

        public List<Integer> toResubmit() {
            List<Integer> out = new ArrayList<>(missing);
            out.addAll(failed.keySet());
            out.sort(null);
            return out;
        }
    }

    public static Collected collect(Grid g) throws IOException {
        List<ResultRow> rows = new ArrayList<>();
        List<Integer> finished = new ArrayList<>(), missing = new ArrayList<>();
        Map<Integer, String> failed = new LinkedHashMap<>();
        StringBuilder cells = new StringBuilder("index,setting,method,forget_size,seed,status,wall_seconds,load_seconds,peak_resident_mb,host\n");
        for (int i = 0; i < g.cells(); i++) {
            Cell c = g.cell(i);
            JsonNode r = g.finished(i);
            String status;
            if (r != null) {
                for (JsonNode row : r.get("rows")) rows.add(Json.MAPPER.treeToValue(row, ResultRow.class));
                finished.add(i);
                status = "done";
            } else if (Files.isRegularFile(g.error(i))) {
                failed.put(i, Files.readString(g.error(i)).strip());
                status = "failed";
            } else {
                missing.add(i);
                status = "missing";
            }
            cells.append(i).append(',').append(csv(c.setting())).append(',').append(csv(c.label())).append(',').append(c.forgetSize()).append(',')
                    .append(c.seed()).append(',').append(status).append(',')
                    .append(r == null ? "" : String.format("%.1f", r.get("wall_seconds").asDouble())).append(',')
                    .append(r == null ? "" : String.format("%.1f", r.get("load_seconds").asDouble())).append(',')
                    .append(r == null ? "" : String.format("%.0f", r.get("peak_resident_bytes").asDouble() / 1e6)).append(',')
                    .append(r == null ? "" : csv(r.get("host").asText())).append('\n');
        }
        AtomicFiles.writeString(g.dir().resolve("cells.csv"), cells.toString());
        return new Collected(rows, finished, missing, failed);
    }

    /** Writes the report of what is finished; returns its Markdown (empty when nothing is). */
    public static String write(Grid g, Collected c) throws IOException {
        if (c.rows().isEmpty()) return "";
        return Report.write(c.rows(), g.dir(), g.title());
    }

    /** What is left, in lines for the terminal: missing and failed cells and how to re-submit only those. */
    public static List<String> summary(Grid g, Collected c) {
        List<String> out = new ArrayList<>();
        out.add(String.format("%s: %d of %d cells finished, %d missing, %d failed", g.dir(), c.finished().size(), g.cells(), c.missing().size(),
                c.failed().size()));
        if (!c.missing().isEmpty()) out.add("missing: " + Grid.arraySpec(c.missing()));
        c.failed().forEach((i, why) -> out.add("failed " + i + ": " + why));
        if (!c.complete())
            out.add("re-submit only those: sbatch --array=" + Grid.arraySpec(c.toResubmit()) + " " + g.dir().resolve("slurm.sbatch")
                    + "   (or here: palimpsest experiment run " + g.dir() + ")");
        return out;
    }

    private static String csv(String s) {
        return s.contains(",") || s.contains("\"") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }
}
