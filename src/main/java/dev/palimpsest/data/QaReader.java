package dev.palimpsest.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.palimpsest.UserError;

/**
 * Reads question-answer files: a JSON array of records, or JSON Lines (one record per line). A record
 * that lacks a field its format needs is reported with the file, the record's number and the field.
 */
public final class QaReader {
    private QaReader() {}

    public static List<QaItem> read(Path file, DataFormat format) {
        List<JsonNode> records = records(file);
        List<QaItem> out = new ArrayList<>();
        for (int i = 0; i < records.size(); i++) {
            JsonNode r = records.get(i);
            String where = file + ": record " + (i + 1);
            if (!r.isObject()) throw new UserError(where + ": not a JSON object");
            String q = text(r, "question", where), a = text(r, "answer", where);
            List<String> para = new ArrayList<>(), wrong = new ArrayList<>();
            String edge = null, id = String.valueOf(i + 1);
            switch (format) {
                case TOFU, WORLD -> {
                    if (r.has("paraphrased_questions")) para.addAll(strings(r, "paraphrased_questions", where));
                    else if (r.has("paraphrased_question")) para.addAll(strings(r, "paraphrased_question", where));
                    if (r.has("perturbed_answer")) wrong.addAll(strings(r, "perturbed_answer", where));
                    if (format == DataFormat.WORLD) {
                        id = text(r, "id", where);
                        if (r.hasNonNull("edge")) edge = r.get("edge").asText();
                    }
                }
                case PISTOL -> edge = text(r, "edge", where);
            }
            out.add(new QaItem(id, q, a, para, wrong, edge));
        }
        return out;
    }

    static List<JsonNode> records(Path file) {
        if (!Files.isRegularFile(file)) throw new UserError(file + ": no such file");
        ObjectMapper om = new ObjectMapper();
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new UserError(file + ": cannot read (" + e.getMessage() + ")");
        }
        List<JsonNode> out = new ArrayList<>();
        String trimmed = text.strip();
        try {
            if (trimmed.startsWith("[")) {
                om.readTree(trimmed).forEach(out::add);
            } else {
                int line = 0;
                for (String l : text.split("\n")) {
                    line++;
                    if (l.isBlank()) continue;
                    try {
                        out.add(om.readTree(l));
                    } catch (IOException e) {
                        throw new UserError(file + ": line " + line + " is not valid JSON");
                    }
                }
            }
        } catch (IOException e) {
            throw new UserError(file + ": not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        if (out.isEmpty()) throw new UserError(file + ": no records");
        return out;
    }

    static String text(JsonNode r, String field, String where) {
        JsonNode n = r.get(field);
        if (n == null || n.isNull()) throw new UserError(where + ": missing field '" + field + "'");
        if (!n.isValueNode()) throw new UserError(where + ": field '" + field + "' is not text");
        String s = n.asText();
        if (s.isBlank()) throw new UserError(where + ": field '" + field + "' is empty");
        return s;
    }

    /** A string field or a list of strings. */
    static List<String> strings(JsonNode r, String field, String where) {
        JsonNode n = r.get(field);
        List<String> out = new ArrayList<>();
        if (n == null || n.isNull()) return out;
        if (n.isArray()) {
            for (JsonNode e : n) {
                if (!e.isValueNode()) throw new UserError(where + ": field '" + field + "' holds a non-text element");
                out.add(e.asText());
            }
        } else if (n.isValueNode()) {
            out.add(n.asText());
        } else {
            throw new UserError(where + ": field '" + field + "' is neither text nor a list of text");
        }
        return out;
    }
}
