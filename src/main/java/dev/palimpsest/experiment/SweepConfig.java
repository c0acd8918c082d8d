package dev.palimpsest.experiment;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.palimpsest.UserError;
import dev.palimpsest.data.DataFormat;
import dev.palimpsest.data.QaReader;
import dev.palimpsest.method.MethodRegistry;
import dev.palimpsest.method.Settings;
import dev.palimpsest.world.DefaultModel;

/**
 * A sweep read from a small JSON file: models × methods × forget sizes × seeds (× query merging) on one forget pool,
 * expanded into the grid's {@link Cell}s.
 * <pre>
 * {"title": "…", "model": "default" | "default-finetuned" | "default-bios" | "path/to/model",   (or "models": [...])
 *  "data": "default:pretrain" | "path.json", "format": "world",
 *  "factual": "default:pretrain", "factual_format": "world",          (optional)
 *  "methods": ["none", "ft"], "forget_sizes": [10, 20, 40], "seeds": [0], "merge": [1, 5],   (merge optional)
 *  "settings": {"ft": {"epochs": "5"}}, "max_new_tokens": 32,
 *  "resources": {"cpus": 4, "memory": "16G", "gpus": 0, "time": "02:00:00"}}                    (optional, for Slurm)
 * </pre>
 * Paths are relative to the config file; {@code default:NAME} is a file of the default world, {@code default-bios:NAME} of the bios world.
 */
public record SweepConfig(String title, List<Cell> cells, Resources resources) {

    public static SweepConfig read(Path file, PrintWriter log) throws IOException {
        JsonNode j;
        try {
            j = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new UserError(file + ": not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        if (j == null || !j.isObject()) throw new UserError(file + ": not a JSON object");
        for (var it = j.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) throw new UserError(file + ": unknown field '" + f + "' (" + String.join(", ", FIELDS) + ")");
        }
        List<String> methods = new ArrayList<>();
        for (JsonNode m : array(j, "methods", file)) {
            MethodRegistry.get(m.asText());
            methods.add(m.asText());
        }
        List<Integer> sizes = new ArrayList<>();
        for (JsonNode n : array(j, "forget_sizes", file)) {
            if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() < 1) throw new UserError(file + ": field 'forget_sizes': " + n + " is not a positive integer");
            sizes.add(n.asInt());
        }
        List<Integer> merges = new ArrayList<>();
        if (j.has("merge")) for (JsonNode n : array(j, "merge", file)) {
            if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() < 1) throw new UserError(file + ": field 'merge': " + n + " is not a positive integer");
            merges.add(n.asInt());
        }
        else merges.add(1);
        List<Long> seeds = new ArrayList<>();
        if (j.has("seeds")) for (JsonNode s : array(j, "seeds", file)) {
            if (!s.isIntegralNumber()) throw new UserError(file + ": field 'seeds': " + s + " is not an integer");
            seeds.add(s.asLong());
        }
        else seeds.add(0L);
        Map<String, Map<String, String>> settings = new LinkedHashMap<>();
        if (j.hasNonNull("settings")) {
            Iterator<Map.Entry<String, JsonNode>> it = j.get("settings").fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                Map<String, String> kv = new LinkedHashMap<>();
                e.getValue().fields().forEachRemaining(f -> kv.put(f.getKey(), f.getValue().asText()));
                settings.put(e.getKey(), kv);
            }
        }
        int maxNewTokens = 32;
        if (j.hasNonNull("max_new_tokens")) {
            JsonNode n = j.get("max_new_tokens");
            if (!n.canConvertToInt() || !n.isIntegralNumber() || n.asInt() < 1)
                throw new UserError(file + ": field 'max_new_tokens': " + n + " is not a positive integer");
            maxNewTokens = n.asInt();
        }
        for (String m : settings.keySet())
            if (!methods.contains(m)) throw new UserError(file + ": field 'settings' has settings for '" + m + "', which is not in 'methods'");
        for (String m : methods) Settings.check(MethodRegistry.get(m), settings.getOrDefault(m, Map.of()));
        Resources resources = Resources.parse(j.get("resources"), file);
        // Models and data last: naming "default" may build the default model, so bad fields fail first.
        Path base = file.toAbsolutePath().getParent();
        List<String> models = new ArrayList<>();
        if (j.has("models") == j.has("model")) throw new UserError(file + ": give either 'model' or 'models'");
        if (j.has("model")) models.add(text(j, "model", file));
        else for (JsonNode m : array(j, "models", file)) {
            if (!m.isTextual()) throw new UserError(file + ": field 'models': " + m + " is not text");
            models.add(m.asText());
        }
        String format = text(j, "format", file);
        Path data = data(j, "data", base, file, log);
        QaReader.read(data, DataFormat.parse(format)); // fails now, naming the file, rather than in every cell
        Path factual = null;
        String factualFormat = j.hasNonNull("factual_format") ? j.get("factual_format").asText() : format;
        if (j.hasNonNull("factual")) {
            factual = data(j, "factual", base, file, log);
            QaReader.read(factual, DataFormat.parse(factualFormat));
        }
        String title = j.hasNonNull("title") ? j.get("title").asText() : file.getFileName().toString();
        String dataDigest = Cell.digest(data), factualDigest = factual == null ? null : Cell.digest(factual);
        List<Cell> cells = new ArrayList<>();
        for (String model : models) {
            Path builtIn = DefaultModel.named(model, log);
            Path modelDir = (builtIn != null ? builtIn : base.resolve(model)).toAbsolutePath().normalize();
            String setting = models.size() == 1 ? title : title + " on " + model;
            for (String m : methods)
                for (int n : sizes)
                    for (long seed : seeds)
                        for (int merge : merges)
                            cells.add(new Cell(cells.size(), setting, modelDir.toString(), data.toAbsolutePath().normalize().toString(), format, dataDigest,
                                    factual == null ? null : factual.toAbsolutePath().normalize().toString(), factual == null ? null : factualFormat,
                                    factualDigest, m, settings.getOrDefault(m, Map.of()), n, seed, merge, maxNewTokens));
        }
        return new SweepConfig(title, cells, resources);
    }

    static final List<String> FIELDS = List.of("title", "model", "models", "data", "format", "factual", "factual_format", "methods", "forget_sizes",
            "seeds", "merge", "settings", "max_new_tokens", "resources");

    private static Path data(JsonNode j, String field, Path base, Path file, PrintWriter log) throws IOException {
        String v = text(j, field, file);
        for (DefaultModel.BuiltIn b : DefaultModel.BuiltIn.values())
            if (v.startsWith(b.modelName + ":")) {
                DefaultModel.ensure(b, 0, log);
                return DefaultModel.folder(b, 0).resolve("world").resolve(v.substring(b.modelName.length() + 1) + ".json");
            }
        return base.resolve(v);
    }

    private static String text(JsonNode j, String field, Path file) {
        if (!j.hasNonNull(field) || !j.get(field).isTextual()) throw new UserError(file + ": missing text field '" + field + "'");
        return j.get(field).asText();
    }

    private static JsonNode array(JsonNode j, String field, Path file) {
        JsonNode a = j.get(field);
        if (a == null || !a.isArray() || a.isEmpty()) throw new UserError(file + ": field '" + field + "' must be a non-empty list");
        return a;
    }
}
