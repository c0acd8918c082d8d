package dev.palimpsest.report;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import javax.imageio.ImageIO;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;

import dev.palimpsest.experiment.ResultRow;
import dev.palimpsest.io.AtomicFiles;

/**
 * The project's PNG charts (XChart): a metric against the number of forget samples (one line per method), named
 * line series, causal tracing's heat map and the gradient-conflict histogram.
 */
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
        png(chart, dir.resolve(file));
        return file;
    }

    /** A line chart of named series (x values, y values) written to {@code dir/file}; returns the file name. */
    public static String lines(Path dir, String file, String title, String xLabel, String yLabel, java.util.Map<String, double[][]> series)
            throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(720).height(440).title(title).xAxisTitle(xLabel).yAxisTitle(yLabel).build();
        chart.getStyler().setMarkerSize(7);
        for (var e : series.entrySet()) chart.addSeries(e.getKey(), e.getValue()[0], e.getValue()[1]);
        png(chart, dir.resolve(file));
        return file;
    }

    /** A heat map of {@code value[x][y]} over integer columns and labelled rows (causal tracing: layer × token). */
    public static void heatMap(Path file, String title, String xLabel, String yLabel, List<String> rows, double[][] value) throws IOException {
        System.setProperty("java.awt.headless", "true");
        png(heatChart(title, xLabel, yLabel, rows, value, 22), file);
    }

    /** One panel of {@link #heatMaps}: a title and values [x][row]. */
    public record Panel(String title, double[][] value) {}

    /**
     * Heat maps side by side in one PNG (ROME's trace figure: one panel per kind of restored state), sharing row labels,
     * the first row at the top; values are shares on a fixed [0, 1] scale.
     */
    public static void heatMaps(Path file, String xLabel, String yLabel, List<String> rowsTopDown, List<Panel> panels) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<String> rows = new ArrayList<>(rowsTopDown);
        Collections.reverse(rows); // XChart draws the first row at the bottom
        List<BufferedImage> images = new ArrayList<>();
        for (Panel p : panels) {
            double[][] flipped = new double[p.value().length][rows.size()];
            for (int i = 0; i < flipped.length; i++)
                for (int j = 0; j < rows.size(); j++) flipped[i][j] = p.value()[i][rows.size() - 1 - j];
            HeatMapChart chart = heatChart(p.title(), xLabel, yLabel, rows, flipped, 30);
            chart.getStyler().setMin(0);
            chart.getStyler().setMax(1);
            images.add(BitmapEncoder.getBufferedImage(chart));
        }
        BufferedImage out = new BufferedImage(images.stream().mapToInt(BufferedImage::getWidth).sum(),
                images.stream().mapToInt(BufferedImage::getHeight).max().orElse(1), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, out.getWidth(), out.getHeight());
        int at = 0;
        for (BufferedImage i : images) {
            g.drawImage(i, at, 0, null);
            at += i.getWidth();
        }
        g.dispose();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ImageIO.write(out, "png", bytes);
        write(file, bytes.toByteArray());
    }

    /** A heat map chart of {@code value[x][row]}; NaN (a row no input had) shows as 0. */
    private static HeatMapChart heatChart(String title, String xLabel, String yLabel, List<String> rows, double[][] value, int rowHeight) {
        List<Integer> x = new ArrayList<>();
        List<Number[]> z = new ArrayList<>();
        for (int i = 0; i < value.length; i++) x.add(i);
        for (int i = 0; i < value.length; i++)
            for (int j = 0; j < rows.size(); j++) z.add(new Number[] {i, j, Double.isNaN(value[i][j]) ? 0 : value[i][j]});
        HeatMapChart chart = new HeatMapChartBuilder().width(420 + 50 * value.length).height(120 + rowHeight * rows.size())
                .title(title).xAxisTitle(xLabel).yAxisTitle(yLabel).build();
        chart.getStyler().setYAxisTicksVisible(true);
        chart.addSeries("value", x, rows, z);
        return chart;
    }

    /** A histogram of values in [-1, 1] (20 bins, labelled by their start), as steps per bin. */
    public static void histogram(Path file, String title, String xLabel, String yLabel, double[] values) throws IOException {
        System.setProperty("java.awt.headless", "true");
        int bins = 20;
        List<String> x = new ArrayList<>();
        List<Integer> y = new ArrayList<>();
        int[] count = new int[bins];
        for (double c : values) count[Math.min(bins - 1, Math.max(0, (int) Math.floor((c + 1) / 2 * bins)))]++;
        for (int b = 0; b < bins; b++) {
            x.add(String.format(java.util.Locale.ROOT, "%.1f", -1 + 2.0 * b / bins));
            y.add(count[b]);
        }
        CategoryChart chart = new CategoryChartBuilder().width(760).height(420).title(title).xAxisTitle(xLabel).yAxisTitle(yLabel).build();
        chart.getStyler().setLegendVisible(false);
        chart.addSeries("steps", x, y);
        png(chart, file);
    }

    /** The chart as a PNG file, written atomically. */
    private static void png(org.knowm.xchart.internal.chartpart.Chart<?, ?> chart, Path file) throws IOException {
        write(file, BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG));
    }

    private static void write(Path file, byte[] png) throws IOException {
        AtomicFiles.writeFile(file, tmp -> java.nio.file.Files.write(tmp, png));
    }

    private static ResultRow find(List<ResultRow> rows, String method, int n, String split) {
        for (ResultRow r : rows) if (r.method().equals(method) && r.forgetSize() == n && r.split().equals(split)) return r;
        return null;
    }
}
