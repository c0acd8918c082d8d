package dev.palimpsest.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.ToLongFunction;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.UserError;
import dev.palimpsest.Version;

/**
 * {@code palimpsest.json}, the last file written into every folder palimpsest publishes: who wrote it,
 * a unique id of this version, and every other file with its size. Its presence marks the folder as
 * palimpsest's (so {@code --overwrite} may replace it) and complete (so a reader can tell a folder
 * that lost files since from one that is whole).
 */
public record FolderRecord(String writer, String kind, String id, String created, Map<String, Long> files) {
    public static final String FILE = "palimpsest.json";

    /** The record of a filled staging folder: every file in it (paths relative, '/'-separated). */
    static FolderRecord describe(Path folder, String kind) throws IOException {
        Map<String, Long> files = new TreeMap<>();
        try (Stream<Path> s = Files.walk(folder)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (!Files.isRegularFile(p)) continue;
                String rel = folder.relativize(p).toString().replace('\\', '/');
                if (!rel.equals(FILE)) files.put(rel, Files.size(p));
            }
        }
        return new FolderRecord(Version.TEXT, kind, UUID.randomUUID().toString(), Instant.now().toString(), files);
    }

    byte[] toJson() throws IOException {
        ObjectMapper om = new ObjectMapper();
        ObjectNode o = om.createObjectNode();
        o.put("written_by", writer);
        o.put("kind", kind);
        o.put("id", id);
        o.put("created", created);
        ObjectNode f = o.putObject("files");
        files.forEach(f::put);
        return om.writerWithDefaultPrettyPrinter().writeValueAsBytes(o);
    }

    /** Parses a record; {@code where} names it in errors. */
    public static FolderRecord parse(byte[] json, Path where) {
        JsonNode n;
        try {
            n = new ObjectMapper().readTree(json);
        } catch (IOException e) {
            throw new UserError(where + ": not valid JSON; the folder's record is damaged");
        }
        if (n == null || !n.isObject() || !n.path("files").isObject() || !n.path("id").isTextual())
            throw new UserError(where + ": not a palimpsest folder record (no 'id' or 'files')");
        Map<String, Long> files = new TreeMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = n.get("files").fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isIntegralNumber()) throw new UserError(where + ": file '" + e.getKey() + "' has no size");
            files.put(e.getKey(), e.getValue().asLong());
        }
        return new FolderRecord(n.path("written_by").asText(""), n.path("kind").asText(""), n.get("id").asText(),
                n.path("created").asText(""), files);
    }

    public static FolderRecord read(Path folder) {
        Path p = folder.resolve(FILE);
        try {
            return parse(Files.readAllBytes(p), p);
        } catch (IOException e) {
            throw new UserError(p + ": cannot read (" + e.getMessage() + ")");
        }
    }

    public static boolean isPresent(Path folder) {
        return Files.isRegularFile(folder.resolve(FILE));
    }

    /**
     * The first way the folder differs from this record (a listed file missing, or of another size), if
     * any. {@code sizeOf} gives a file's size, or -1 when it is missing.
     */
    public Optional<String> difference(ToLongFunction<String> sizeOf) {
        for (Map.Entry<String, Long> e : files.entrySet()) {
            long size = sizeOf.applyAsLong(e.getKey());
            if (size < 0) return Optional.of(e.getKey() + " is missing");
            if (size != e.getValue())
                return Optional.of(e.getKey() + " has " + size + " bytes where the record says " + e.getValue());
        }
        return Optional.empty();
    }
}
