package dev.palimpsest.experiment;

import java.util.Map;

/** One measured split of one run: what the results JSONL holds per line. */
public record ResultRow(String setting, String method, int forgetSize, long seed, String split,
        Map<String, Object> metrics, double updateSeconds) {

    public double metric(String name) {
        Object v = metrics.get(name);
        return v instanceof Number n ? n.doubleValue() : Double.NaN;
    }
}
