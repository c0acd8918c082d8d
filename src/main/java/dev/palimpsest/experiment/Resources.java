package dev.palimpsest.experiment;

import java.nio.file.Path;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

import dev.palimpsest.UserError;

/**
 * What one cell asks of a cluster node, from the config's {@code "resources"} (all optional):
 * {@code {"cpus": 4, "memory": "16G", "gpus": 0, "time": "02:00:00", "partition": "…", "account": "…"}}.
 */
public record Resources(int cpus, String memory, int gpus, String time, String partition, String account) {
    public static final Resources DEFAULT = new Resources(2, "8G", 0, "01:00:00", null, null);
    private static final Pattern MEMORY = Pattern.compile("\\d+[KMGT]?"), TIME = Pattern.compile("(\\d+-)?\\d+(:\\d{2}){0,2}"),
            NAME = Pattern.compile("[A-Za-z0-9_.-]+");

    static Resources parse(JsonNode j, Path file) {
        if (j == null || j.isNull()) return DEFAULT;
        if (!j.isObject()) throw new UserError(file + ": field 'resources' must be an object");
        j.fieldNames().forEachRemaining(f -> {
            if (!java.util.Set.of("cpus", "memory", "gpus", "time", "partition", "account").contains(f))
                throw new UserError(file + ": field 'resources' has an unknown field '" + f + "' (cpus, memory, gpus, time, partition, account)");
        });
        int cpus = integer(j, "cpus", DEFAULT.cpus, 1, file), gpus = integer(j, "gpus", DEFAULT.gpus, 0, file);
        String memory = text(j, "memory", DEFAULT.memory, MEMORY, "like 16G", file), time = text(j, "time", DEFAULT.time, TIME, "like 02:00:00 or 1-00:00:00", file);
        return new Resources(cpus, memory, gpus, time, text(j, "partition", null, NAME, "a partition name", file), text(j, "account", null, NAME, "an account name", file));
    }

    private static int integer(JsonNode j, String f, int dflt, int min, Path file) {
        if (!j.has(f)) return dflt;
        JsonNode n = j.get(f);
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() < min)
            throw new UserError(file + ": field 'resources." + f + "': " + n + " is not an integer of at least " + min);
        return n.asInt();
    }

    private static String text(JsonNode j, String f, String dflt, Pattern shape, String hint, Path file) {
        if (!j.has(f)) return dflt;
        JsonNode n = j.get(f);
        if (!n.isTextual() || !shape.matcher(n.asText()).matches()) throw new UserError(file + ": field 'resources." + f + "': " + n + " is not " + hint);
        return n.asText();
    }
}
