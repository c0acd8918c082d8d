package dev.palimpsest.data;

import java.util.List;

/**
 * A question with its answer, as every QA dataset format reduces to: paraphrased questions and wrong
 * ("perturbed") answers where the format has them, the PISTOL edge where it has one, and an id.
 */
public record QaItem(String id, String question, String answer, List<String> paraphrasedQuestions,
        List<String> perturbedAnswers, String edge) {
}
