package dev.palimpsest.data;

import java.util.List;

/**
 * A question with its answer, as every QA dataset format reduces to: paraphrased questions, a
 * paraphrased answer and wrong ("perturbed") answers where the format has them, the PISTOL edge where
 * it has one, and an id.
 */
public record QaItem(String id, String question, String answer, List<String> paraphrasedQuestions,
        String paraphrasedAnswer, List<String> perturbedAnswers, String edge) {

    /** The same item asked with its last paraphrased question (the rephrased set), or null if it has none. */
    public QaItem rephrased() {
        if (paraphrasedQuestions.isEmpty()) return null;
        return new QaItem(id, paraphrasedQuestions.get(paraphrasedQuestions.size() - 1), answer, List.of(),
                paraphrasedAnswer, perturbedAnswers, edge);
    }
}
