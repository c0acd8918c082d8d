package dev.palimpsest.experiment;

import java.util.Map;

/**
 * One measured split of one run: what the results JSONL holds per line. {@code forgetSize}: facts forgotten;
 * {@code round}: which of a sequence of updates it was measured after (1 for a single update).
 */
public record ResultRow(String setting, String method, int forgetSize, int round, long seed, String split,
        Map<String, Object> metrics, double updateSeconds) {

    public double metric(String name) {
        Object v = metrics.get(name);
        return v instanceof Number n ? n.doubleValue() : Double.NaN;
    }
}
