package dev.palimpsest.serve;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * What {@code GET /metrics} shows, in Prometheus text format. The gauges (queue length, model version) are set from
 * the log and the live model when scraped; the counters and histograms as things happen.
 */
public final class ServiceMetrics {
    private final PrometheusRegistry registry = new PrometheusRegistry();
    final Gauge queueLength = Gauge.builder().name("palimpsest_queue_length").help("Updates queued, not yet applying").register(registry);
    final Gauge modelVersion = Gauge.builder().name("palimpsest_model_version").help("The model version queries are answered on").register(registry);
    final Histogram updateSeconds = Histogram.builder().name("palimpsest_update_seconds")
            .help("Time to apply one batch of updates: training, checks, persisting and publishing the new version").classicOnly()
            .classicUpperBounds(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800).register(registry);
    final Histogram generateSeconds = Histogram.builder().name("palimpsest_generate_seconds").help("Latency of POST /v1/generate")
            .classicOnly().classicUpperBounds(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30).register(registry);
    final Histogram scoreSeconds = Histogram.builder().name("palimpsest_score_seconds").help("Latency of POST /v1/score")
            .classicOnly().classicUpperBounds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5).register(registry);
    final Counter updatesApplied = Counter.builder().name("palimpsest_updates_applied").help("Updates applied since the server started").register(registry);
    final Counter updatesFailed = Counter.builder().name("palimpsest_updates_failed").help("Updates that failed since the server started").register(registry);
    final Counter updatesReverted = Counter.builder().name("palimpsest_updates_reverted").help("Updates reverted since the server started").register(registry);

    public String text() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            PrometheusTextFormatWriter.create().write(out, registry.scrape(), EscapingScheme.DEFAULT);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    public static String contentType() {
        return PrometheusTextFormatWriter.CONTENT_TYPE;
    }
}
