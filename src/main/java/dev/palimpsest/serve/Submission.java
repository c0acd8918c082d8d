package dev.palimpsest.serve;

import java.util.ArrayList;
import java.util.List;

import dev.palimpsest.data.QaItem;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.request.KnowledgeRequest;
import dev.palimpsest.request.Requests;

/**
 * The body of {@code POST /v1/updates}: edits (a prompt gets a new answer), forgets (an answer is to be gone; the model
 * refuses instead, with a refusal naming the question's entities), optional retain questions whose answers should
 * survive (methods with a retain term read them), an optional method and note. Unknown fields are refused.
 */
public record Submission(String method, List<Edit> edits, List<Forget> forgets, List<Retained> retain, String note) {
    public record Edit(String prompt, String target, String subject) {}

    public record Forget(String question, String answer) {}

    public record Retained(String question, String answer) {}

    /** Bounds that keep one request from holding the service: texts, requests per update, retain questions. */
    public static final int MAX_TEXT = 2000, MAX_REQUESTS = 256, MAX_RETAIN = 2048, MAX_NOTE = 1000;

    public Submission {
        edits = edits == null ? List.of() : List.copyOf(edits);
        forgets = forgets == null ? List.of() : List.copyOf(forgets);
        retain = retain == null ? List.of() : List.copyOf(retain);
    }

    /** Throws a 400 naming the first field that is missing, empty or too long. */
    public void validate() {
        if (edits.isEmpty() && forgets.isEmpty()) throw new ApiError(400, "an update needs at least one of 'edits' and 'forgets'");
        if (edits.size() + forgets.size() > MAX_REQUESTS)
            throw new ApiError(400, "at most " + MAX_REQUESTS + " edits and forgets per update, got " + (edits.size() + forgets.size()));
        if (retain.size() > MAX_RETAIN) throw new ApiError(400, "at most " + MAX_RETAIN + " retain questions per update, got " + retain.size());
        for (int i = 0; i < edits.size(); i++) {
            Edit e = edits.get(i);
            if (e == null) throw new ApiError(400, "edits[" + i + "] is null");
            text("edits[" + i + "].prompt", e.prompt(), true);
            text("edits[" + i + "].target", e.target(), true);
            text("edits[" + i + "].subject", e.subject(), false);
            if (e.subject() != null && !e.prompt().contains(e.subject()))
                throw new ApiError(400, "edits[" + i + "].subject must occur in its prompt");
        }
        for (int i = 0; i < forgets.size(); i++) {
            Forget f = forgets.get(i);
            if (f == null) throw new ApiError(400, "forgets[" + i + "] is null");
            text("forgets[" + i + "].question", f.question(), true);
            text("forgets[" + i + "].answer", f.answer(), true);
        }
        for (int i = 0; i < retain.size(); i++) {
            Retained r = retain.get(i);
            if (r == null) throw new ApiError(400, "retain[" + i + "] is null");
            text("retain[" + i + "].question", r.question(), true);
            text("retain[" + i + "].answer", r.answer(), true);
        }
        if (note != null && note.length() > MAX_NOTE) throw new ApiError(400, "note is longer than " + MAX_NOTE + " characters");
        if (method != null && method.isBlank()) throw new ApiError(400, "method is empty");
    }

    static void text(String field, String value, boolean required) {
        if (value == null) {
            if (required) throw new ApiError(400, field + " is missing");
            return;
        }
        if (value.isBlank()) throw new ApiError(400, field + " is empty");
        if (value.length() > MAX_TEXT) throw new ApiError(400, field + " is longer than " + MAX_TEXT + " characters");
    }

    /** The knowledge requests: forgets first (each with its template refusal), then edits. */
    public List<KnowledgeRequest> requests(LanguageModel m, QuestionFormat format, long seed) {
        List<QaItem> items = new ArrayList<>();
        for (Forget f : forgets) items.add(qa(f.question(), f.answer()));
        List<KnowledgeRequest> out = new ArrayList<>(Requests.forget(items, "template", 1, seed, m, format));
        for (Edit e : edits) out.add(new KnowledgeRequest(KnowledgeRequest.Kind.EDIT, e.prompt(), null, e.target(), e.subject()));
        return out;
    }

    public List<QaItem> retainItems() {
        List<QaItem> out = new ArrayList<>();
        for (Retained r : retain) out.add(qa(r.question(), r.answer()));
        return out;
    }

    static QaItem qa(String question, String answer) {
        return new QaItem(null, question, answer, List.of(), null, List.of(), null);
    }

    public int size() {
        return edits.size() + forgets.size();
    }
}
