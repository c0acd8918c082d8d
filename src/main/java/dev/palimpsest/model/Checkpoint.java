package dev.palimpsest.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.bytedeco.pytorch.Tensor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.UserError;
import dev.palimpsest.io.FolderSnapshot;
import dev.palimpsest.tensor.Tensors;

/**
 * The weight files of a model directory: {@code model.safetensors}, or shards listed in
 * {@code model.safetensors.index.json}. Reads the tensors an architecture asks for, each converted to
 * the compute type as it is read (one copy of the model, never a wider shadow of it), and writes weights back in the same layout (one file, or shards of at most {@link #SHARD_BYTES}).
 */
public final class Checkpoint {
    static final String SINGLE = "model.safetensors";
    static final String INDEX = "model.safetensors.index.json";
    static final long SHARD_BYTES = 4L << 30;

    private Checkpoint() {}

    /** The named tensors, the floating dtype they were stored in, and the one they were converted to. */
    public record Loaded(Map<String, Tensor> tensors, DType storedAs, DType computeAs) {}

    /** Loads the named tensors; floating ones as {@code as}, or (null) as the type the first of them is stored in. */
    public static Loaded load(FolderSnapshot dir, List<String> wanted, Map<String, String> aliases, DType as) {
        Map<String, SafeTensorsFile> byName = index(dir);
        Map<String, String> keys = new LinkedHashMap<>();
        DType stored = null;
        for (String name : wanted) {
            String key = byName.containsKey(name) ? name : aliases.getOrDefault(name, name);
            SafeTensorsFile f = byName.get(key);
            if (f == null) continue; // CausalLM.create names what is missing
            DType d = f.entries().get(key).dtype();
            if (d.floating && stored == null) stored = d;
            keys.put(name, key);
        }
        if (stored == null) stored = DType.F32;
        DType compute = as != null ? as : stored.computeType();
        Map<String, Tensor> out = new LinkedHashMap<>();
        keys.forEach((name, key) -> out.put(name, byName.get(key).load(key, compute.scalarType)));
        return new Loaded(out, stored, compute);
    }

    /** Maps every tensor name in the folder's weight files to the file that holds it. */
    static Map<String, SafeTensorsFile> index(FolderSnapshot dir) {
        Map<String, SafeTensorsFile> byName = new LinkedHashMap<>();
        if (dir.has(INDEX)) {
            Path idx = dir.path(INDEX);
            JsonNode json = Tokenizer.parseJson(new ObjectMapper(), dir.bytes(INDEX), idx);
            JsonNode map = json.path("weight_map");
            if (!map.isObject() || map.size() == 0) throw new UserError(idx + ": missing 'weight_map'");
            Map<String, SafeTensorsFile> files = new LinkedHashMap<>();
            Iterator<Map.Entry<String, JsonNode>> it = map.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                String file = e.getValue().asText();
                if (file.contains("/") || file.contains("\\"))
                    throw new UserError(idx + ": shard name '" + file + "' must be a file in the model directory");
                SafeTensorsFile f = files.computeIfAbsent(file, n -> {
                    if (!dir.has(n)) throw new UserError(idx + ": lists shard " + n + ", which is missing");
                    return SafeTensorsFile.read(dir.channel(n), dir.path(n));
                });
                if (!f.entries().containsKey(e.getKey()))
                    throw new UserError(f.path() + ": index says it holds '" + e.getKey() + "', but it does not");
                byName.put(e.getKey(), f);
            }
        } else if (dir.has(SINGLE)) {
            SafeTensorsFile f = SafeTensorsFile.read(dir.channel(SINGLE), dir.path(SINGLE));
            for (String n : f.entries().keySet()) byName.put(n, f);
        } else if (dir.has("pytorch_model.bin") || dir.has("pytorch_model.bin.index.json")) {
            // A pickle runs whatever code it names when it is loaded: not something to open on a user's behalf.
            throw new UserError(dir.dir() + ": has pytorch_model.bin (a Python pickle, which can run arbitrary code when loaded); "
                    + "palimpsest reads safetensors only: convert it once where you trust the file, e.g. with transformers "
                    + "AutoModelForCausalLM.from_pretrained(DIR).save_pretrained(NEW_DIR), which writes model.safetensors");
        } else {
            throw new UserError(dir.dir() + ": no " + SINGLE + " or " + INDEX + " (only safetensors weights are supported)");
        }
        return byName;
    }

    /** The bytes {@link #save} writes for these tensors (floating ones as {@code floatType}), headers aside. */
    public static long bytes(Map<String, Tensor> tensors, DType floatType) {
        long total = 0;
        for (Tensor t : tensors.values())
            total += t.numel() * (DType.of(Tensors.dtype(t)).floating ? floatType.bytes : t.element_size());
        return total;
    }

    /** Writes the weights into {@code dir} (which must exist) as one file or as shards with an index. */
    public static void save(Path dir, Map<String, Tensor> tensors, DType floatType) throws IOException {
        List<SafeTensorsWriter.Item> items = new ArrayList<>();
        tensors.forEach((n, t) -> items.add(SafeTensorsWriter.Item.of(n, t)));
        save(dir, items, floatType);
    }

    /**
     * Writes tensors made one at a time (a checkpoint larger than memory can be written this way) as one file,
     * or as shards of at most {@link #SHARD_BYTES} with an index.
     */
    public static void save(Path dir, List<SafeTensorsWriter.Item> items, DType floatType) throws IOException {
        Map<String, String> meta = Map.of("format", "pt");
        List<List<SafeTensorsWriter.Item>> shards = new ArrayList<>();
        List<SafeTensorsWriter.Item> current = new ArrayList<>();
        long bytes = 0, total = 0;
        for (SafeTensorsWriter.Item it : items) {
            long n = it.numel() * (it.dtype().floating ? floatType.bytes : it.dtype().bytes);
            if (!current.isEmpty() && bytes + n > SHARD_BYTES) {
                shards.add(current);
                current = new ArrayList<>();
                bytes = 0;
            }
            current.add(it);
            bytes += n;
            total += n;
        }
        shards.add(current);
        if (shards.size() == 1) {
            SafeTensorsWriter.write(dir.resolve(SINGLE), shards.get(0), floatType, meta);
            return;
        }
        ObjectMapper om = new ObjectMapper();
        ObjectNode index = om.createObjectNode();
        ObjectNode weightMap = om.createObjectNode();
        for (int i = 0; i < shards.size(); i++) {
            String name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
            SafeTensorsWriter.write(dir.resolve(name), shards.get(i), floatType, meta);
            for (SafeTensorsWriter.Item it : shards.get(i)) weightMap.put(it.name(), name);
        }
        index.putObject("metadata").put("total_size", total);
        index.set("weight_map", weightMap);
        Files.writeString(dir.resolve(INDEX), om.writerWithDefaultPrettyPrinter().writeValueAsString(index));
    }
}
