package dev.palimpsest.eval;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.model.Scorer;
import dev.palimpsest.request.KnowledgeRequest;

/**
 * Did an update take? Measured on its own requests right after it applies, so that nobody ships a no-op. An edit
 * took when its new target is the model's greedy continuation of the prompt (every target token the top choice under
 * teacher forcing); a forget took when the greedy answer no longer gives the old answer (ROUGE-1 recall against it
 * below one half).
 */
public record UpdateChecks(int edits, int editsTook, double editReliability, int forgets, int forgetsTook) {
    /** The greedy budget for a forget's answer: enough for any answer the world or a benchmark holds. */
    static final int ANSWER_TOKENS = 32;

    public static UpdateChecks measure(LanguageModel m, QuestionFormat f, List<KnowledgeRequest> requests) {
        List<String> editPrompts = new ArrayList<>(), targets = new ArrayList<>(), forgetQuestions = new ArrayList<>(),
                oldAnswers = new ArrayList<>();
        for (KnowledgeRequest r : requests) {
            if (r.kind() == KnowledgeRequest.Kind.EDIT) {
                editPrompts.add(f.prompt(r.question()));
                targets.add(f.answer(r.target()));
            } else {
                forgetQuestions.add(r.question());
                oldAnswers.add(r.answer());
            }
        }
        int editsTook = 0;
        double reliability = Double.NaN;
        if (!editPrompts.isEmpty()) {
            List<Scorer.Scored> s = Scorer.score(m, editPrompts, targets, 16);
            reliability = s.stream().mapToDouble(Scorer.Scored::accuracy).average().orElse(Double.NaN);
            editsTook = (int) s.stream().filter(x -> x.accuracy() == 1).count();
        }
        int forgetsTook = 0;
        if (!forgetQuestions.isEmpty()) {
            List<String> said = Answers.greedy(m, f, forgetQuestions, ANSWER_TOKENS, 16);
            for (int i = 0; i < said.size(); i++) if (Rouge.rouge1Recall(said.get(i), oldAnswers.get(i)) < 0.5) forgetsTook++;
        }
        return new UpdateChecks(editPrompts.size(), editsTook, reliability, forgetQuestions.size(), forgetsTook);
    }

    /** Share of edits that took (NaN without edits). */
    public double editSuccess() {
        return edits == 0 ? Double.NaN : (double) editsTook / edits;
    }

    /** Share of forgets that took (NaN without forgets). */
    public double forgetSuccess() {
        return forgets == 0 ? Double.NaN : (double) forgetsTook / forgets;
    }

    /** For the update's record: the shares and the counts. */
    public Map<String, Object> record() {
        Map<String, Object> m = new LinkedHashMap<>();
        if (edits > 0) {
            m.put("edit_success", editSuccess());
            m.put("edit_reliability", editReliability);
            m.put("edits", edits);
        }
        if (forgets > 0) {
            m.put("forget_success", forgetSuccess());
            m.put("forgets", forgets);
        }
        return m;
    }

    /** One line: what took, of what was asked. */
    public String summary() {
        List<String> parts = new ArrayList<>();
        if (edits > 0) parts.add(String.format("%d of %d edits took (new target is the greedy answer; token reliability %.2f)", editsTook, edits, editReliability));
        if (forgets > 0) parts.add(forgetsTook + " of " + forgets + " forgets took (the old answer is gone)");
        return String.join(", ", parts);
    }

    /** True when fewer than half of the edits, or of the forgets, took. */
    public boolean mostlyFailed() {
        return (edits > 0 && 2 * editsTook < edits) || (forgets > 0 && 2 * forgetsTook < forgets);
    }
}
