package dev.palimpsest.report;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;

import dev.palimpsest.experiment.ResultRow;
import dev.palimpsest.io.AtomicFiles;

/** PNG line charts of a metric against the number of forget samples, one line per method (XChart). */
public final class Plots {
    private Plots() {}

    /** Writes one forget-ROUGE and one score chart per setting that has more than one forget size; returns file names. */
    static List<String> write(List<ResultRow> rows, Path dir) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<String> files = new ArrayList<>();
        for (String setting : Report.distinct(rows, ResultRow::setting)) {
            List<ResultRow> in = rows.stream().filter(r -> r.setting().equals(setting)).toList();
            if (in.stream().map(ResultRow::forgetSize).distinct().count() < 2) continue;
            String slug = setting.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9]+", "-");
            files.add(chart(in, dir, slug + "-forget-rouge1.png", "ROUGE-1 recall on the forget set (" + setting + ")",
                    "ROUGE-1 recall", false));
            files.add(chart(in, dir, slug + "-score.png", "1 − ROUGE@forget + ROUGE@retain (" + setting + ")", "score",
                    true));
        }
        return files;
    }

    private static String chart(List<ResultRow> rows, Path dir, String file, String title, String yLabel, boolean score)
            throws IOException {
        XYChart chart = new XYChartBuilder().width(720).height(440).title(title).xAxisTitle("forget samples")
                .yAxisTitle(yLabel).build();
        chart.getStyler().setMarkerSize(7);
        for (String method : Report.distinct(rows, ResultRow::method)) {
            List<Integer> sizes = rows.stream().filter(r -> r.method().equals(method)).map(ResultRow::forgetSize)
                    .distinct().sorted().toList();
            List<Double> x = new ArrayList<>(), y = new ArrayList<>();
            for (int n : sizes) {
                ResultRow f = find(rows, method, n, "forget"), r = find(rows, method, n, "retain");
                double v = score ? Report.score(f, r) : f == null ? Double.NaN : f.metric("rouge1_recall");
                if (Double.isNaN(v)) continue;
                x.add((double) n);
                y.add(v);
            }
            if (!x.isEmpty()) chart.addSeries(method, x, y);
        }
        byte[] png = BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
        AtomicFiles.writeFile(dir.resolve(file), tmp -> java.nio.file.Files.write(tmp, png));
        return file;
    }

    /** A line chart of named series (x values, y values) written to {@code dir/file}; returns the file name. */
    public static String lines(Path dir, String file, String title, String xLabel, String yLabel, java.util.Map<String, double[][]> series)
            throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(720).height(440).title(title).xAxisTitle(xLabel).yAxisTitle(yLabel).build();
        chart.getStyler().setMarkerSize(7);
        for (var e : series.entrySet()) chart.addSeries(e.getKey(), e.getValue()[0], e.getValue()[1]);
        byte[] png = BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
        AtomicFiles.writeFile(dir.resolve(file), tmp -> java.nio.file.Files.write(tmp, png));
        return file;
    }

    private static ResultRow find(List<ResultRow> rows, String method, int n, String split) {
        for (ResultRow r : rows) if (r.method().equals(method) && r.forgetSize() == n && r.split().equals(split)) return r;
        return null;
    }
}
