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

    /**
     * Question-answer records of a QA format (TOFU, PISTOL, world, PKU-SafeRLHF). TOFU's world-facts
     * files (option1 … option4) give the options other than the answer as perturbed answers.
     * PKU-SafeRLHF gives, per prompt with an unsafe response, that response as the answer to forget
     * and the safe one (if any) as a perturbed answer; prompts without an unsafe response are skipped.
     */
    public static List<QaItem> read(Path file, DataFormat format) {
        if (format.isEdit()) throw new UserError(file + ": " + format.name().toLowerCase() + " holds edit requests, not question-answer pairs");
        List<JsonNode> records = records(file);
        List<QaItem> out = new ArrayList<>();
        for (int i = 0; i < records.size(); i++) {
            JsonNode r = records.get(i);
            String where = file + ": record " + (i + 1);
            if (!r.isObject()) throw new UserError(where + ": not a JSON object");
            if (format == DataFormat.PKU) {
                QaItem item = pku(r, where, i);
                if (item != null) out.add(item);
                continue;
            }
            String q = text(r, "question", where), a = text(r, "answer", where);
            List<String> para = new ArrayList<>(), wrong = new ArrayList<>();
            String edge = null, id = String.valueOf(i + 1), paraAnswer = null;
            switch (format) {
                case TOFU, WORLD -> {
                    if (r.has("paraphrased_questions")) para.addAll(strings(r, "paraphrased_questions", where));
                    else if (r.has("paraphrased_question")) para.addAll(strings(r, "paraphrased_question", where));
                    if (r.has("perturbed_answer")) wrong.addAll(strings(r, "perturbed_answer", where));
                    if (r.hasNonNull("paraphrased_answer")) paraAnswer = text(r, "paraphrased_answer", where);
                    for (int o = 1; r.has("option" + o); o++) {
                        String opt = text(r, "option" + o, where);
                        if (!opt.equals(a)) wrong.add(opt);
                    }
                    if (format == DataFormat.WORLD) {
                        id = text(r, "id", where);
                        if (r.hasNonNull("edge")) edge = text(r, "edge", where);
                    }
                }
                case PISTOL -> edge = text(r, "edge", where);
            }
            out.add(new QaItem(id, q, a, para, paraAnswer, wrong, edge));
        }
        return out;
    }

    private static QaItem pku(JsonNode r, String where, int index) {
        String prompt = text(r, "prompt", where);
        String r0 = text(r, "response_0", where), r1 = text(r, "response_1", where);
        boolean safe0 = bool(r, "is_response_0_safe", where), safe1 = bool(r, "is_response_1_safe", where);
        if (safe0 && safe1) return null;
        String unsafe = !safe0 ? r0 : r1;
        List<String> safe = new ArrayList<>();
        if (safe0) safe.add(r0);
        if (safe1) safe.add(r1);
        return new QaItem(String.valueOf(index + 1), prompt, unsafe, List.of(), null, safe, null);
    }

    static boolean bool(JsonNode r, String field, String where) {
        JsonNode n = r.get(field);
        if (n == null || n.isNull()) throw new UserError(where + ": missing field '" + field + "'");
        if (!n.isBoolean()) throw new UserError(where + ": field '" + field + "' is not true or false");
        return n.asBoolean();
    }

    public static List<JsonNode> records(Path file) {
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

    public static String text(JsonNode r, String field, String where) {
        JsonNode n = r.get(field);
        if (n == null || n.isNull()) throw new UserError(where + ": missing field '" + field + "'");
        if (!n.isTextual()) throw new UserError(where + ": field '" + field + "' must be text, got " + kind(n) + " " + UserError.quote(n.toString()));
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
                if (!e.isTextual())
                    throw new UserError(where + ": field '" + field + "' must hold text, but holds " + kind(e) + " " + UserError.quote(e.toString()));
                out.add(e.asText());
            }
        } else if (n.isTextual()) {
            out.add(n.asText());
        } else {
            throw new UserError(where + ": field '" + field + "' must be text or a list of text, got " + kind(n) + " " + UserError.quote(n.toString()));
        }
        return out;
    }

    /** What a JSON value is, for messages. */
    static String kind(JsonNode n) {
        if (n.isNumber()) return "a number";
        if (n.isBoolean()) return "true/false";
        if (n.isArray()) return "a list";
        if (n.isObject()) return "an object";
        return "a " + n.getNodeType().name().toLowerCase();
    }
}
