package dev.palimpsest.experiment;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.palimpsest.UserError;
import dev.palimpsest.bench.PeakMemory;
import dev.palimpsest.data.DataFormat;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.data.QaReader;
import dev.palimpsest.eval.Evaluator;
import dev.palimpsest.io.AtomicFiles;
import dev.palimpsest.io.Json;
import dev.palimpsest.model.LanguageModel;

/**
 * Runs cells of a grid in this process, one after another, as {@code experiment run-cell} and {@code experiment run}
 * do: a cell whose result exists (for the cell as it is now) is skipped; cells on the same model reuse the loaded model
 * (each update is removed exactly after its measurements); each result is written atomically with the cell's hash,
 * wall time and peak resident memory; a failed cell writes its reason beside the results and the rest still run.
 */
public final class CellRunner {
    private CellRunner() {}

    public enum Status { DONE, SKIPPED, FAILED }

    public record Outcome(int index, Status status, String reason) {}

    public static List<Outcome> run(Grid g, List<Integer> indices, PrintWriter log) {
        List<Outcome> out = new ArrayList<>();
        Map<String, List<QaItem>> data = new HashMap<>();
        LanguageModel model = null;
        String loaded = null;
        try {
            for (int i : indices) {
                Cell c = g.cell(i);
                if (g.finished(i) != null) {
                    log.printf("cell %d (%s, %s, forget %d, seed %d): done already%n", i, c.setting(), c.label(), c.forgetSize(), c.seed());
                    out.add(new Outcome(i, Status.SKIPPED, null));
                    continue;
                }
                long t0 = System.nanoTime();
                PeakMemory.reset();
                try {
                    double loadSeconds = 0;
                    if (!c.model().equals(loaded)) {
                        if (model != null) model.close();
                        model = null;
                        long l0 = System.nanoTime();
                        model = LanguageModel.load(Path.of(c.model()));
                        loaded = c.model();
                        loadSeconds = (System.nanoTime() - l0) / 1e9;
                    }
                    List<QaItem> pool = read(data, c.data(), c.format(), c.dataDigest());
                    List<QaItem> factual = c.factual() == null ? null : read(data, c.factual(), c.factualFormat(), c.factualDigest());
                    var setting = new ExperimentRunner.Setting(c.setting(), Path.of(c.model()), pool, factual);
                    var opts = new Evaluator.Options(c.maxNewTokens(), 32, 100, Evaluator.Ranks.GREEDY);
                    List<ResultRow> rows = ExperimentRunner.run(new ExperimentRunner.Run(setting, c.method(), c.forgetSize(), c.seed(), c.settings(),
                            c.merge()), model, opts, log);
                    Map<String, Object> r = new LinkedHashMap<>();
                    r.put("index", i);
                    r.put("hash", c.hash());
                    r.put("rows", rows);
                    r.put("wall_seconds", (System.nanoTime() - t0) / 1e9);
                    r.put("load_seconds", loadSeconds);
                    r.put("peak_resident_bytes", PeakMemory.peakBytes());
                    r.put("host", host());
                    r.put("finished", Instant.now().toString());
                    AtomicFiles.writeString(g.result(i), Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(r));
                    Files.deleteIfExists(g.error(i));
                    out.add(new Outcome(i, Status.DONE, null));
                } catch (RuntimeException | IOException e) {
                    String reason = reason(e);
                    log.printf("cell %d failed: %s%n", i, reason);
                    // A method that failed half-way may have left the model changed without an undo: load it afresh for the next cell.
                    if (model != null) model.close();
                    model = null;
                    loaded = null;
                    try {
                        AtomicFiles.writeString(g.error(i), reason + "\n");
                    } catch (IOException w) {
                        log.printf("cell %d: cannot write %s (%s)%n", i, g.error(i), w.getMessage());
                    }
                    out.add(new Outcome(i, Status.FAILED, reason));
                }
            }
        } finally {
            if (model != null) model.close();
        }
        return out;
    }

    private static List<QaItem> read(Map<String, List<QaItem>> cache, String file, String format, String digest) {
        return cache.computeIfAbsent(file, f -> {
            Path p = Path.of(f);
            if (!Cell.digest(p).equals(digest))
                throw new UserError(p + ": changed since the grid was planned; plan it again (finished cells whose data did not change are kept)");
            return QaReader.read(p, DataFormat.parse(format));
        });
    }

    static String reason(Throwable e) {
        String m = e.getMessage();
        String kind = e instanceof UserError ? "" : e.getClass().getSimpleName() + ": ";
        return (kind + (m == null ? "" : m)).replaceAll("\\s+", " ").strip();
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown";
        }
    }
}
