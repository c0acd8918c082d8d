package dev.palimpsest.method;

import dev.palimpsest.request.KnowledgeRequest;
import java.util.List;

import dev.palimpsest.UserError;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.model.Scorer;

/**
 * The guard after every update: the updated model must still produce numbers on the update's own
 * prompts. An update that diverged (a learning rate far too large, a degenerate memory) makes them NaN or
 * infinite; it is reported as the user's to fix, and nothing is saved.
 */
public final class FiniteOutputs {
    private FiniteOutputs() {}

    public static void check(String method, LanguageModel m, QuestionFormat format, List<KnowledgeRequest> requests) {
        List<String> prompts = requests.stream().map(r -> format.prompt(r.question())).toList();
        List<String> targets = requests.stream().map(r -> format.answer(r.target())).toList();
        try {
            Scorer.score(m, prompts, targets, 16);
        } catch (Scorer.NonFinite e) {
            throw new UserError(method + ": the updated model's output is NaN or infinite on the update's own prompts; "
                    + "the update diverged (try a smaller lr), nothing was written");
        }
    }
}
