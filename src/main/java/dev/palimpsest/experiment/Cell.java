package dev.palimpsest.experiment;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.core.JsonProcessingException;

import dev.palimpsest.UserError;
import dev.palimpsest.io.Json;

/**
 * One cell of a sweep's grid: everything one run needs, with absolute paths, so that any machine that sees the same
 * files can run it alone ({@code experiment run-cell}). {@code dataDigest} and {@code factualDigest} are the data files'
 * SHA-256 when the grid was planned: a cell refuses to run on data that changed since. {@link #hash} names the cell's
 * content; a result is reused only by the cell it was computed for.
 */
public record Cell(int index, String setting, String model, String data, String format, String dataDigest, String factual,
        String factualFormat, String factualDigest, String method, Map<String, String> settings, int forgetSize, long seed,
        int merge, int maxNewTokens) {

    public Cell {
        settings = settings == null ? Map.of() : new TreeMap<>(settings);
    }

    /** SHA-256 of everything but the index, as canonical JSON. */
    public String hash() {
        Map<String, Object> m = new LinkedHashMap<>(Json.MAPPER.convertValue(this, Map.class));
        m.remove("index");
        try {
            return sha256(Json.MAPPER.writeValueAsBytes(new TreeMap<>(m)));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The method as the report names it ("rome merge 5" when queries are merged). */
    public String label() {
        return merge == 1 ? method : method + " merge " + merge;
    }

    public static String digest(Path file) {
        try {
            return sha256(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new UserError(file + ": cannot read (" + e.getMessage() + ")");
        }
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
