package dev.palimpsest.world;

import java.util.List;

/**
 * One fact of the built-in world: a question, its answer, paraphrased questions, wrong answers of
 * the same type, and the fact as a plain sentence. {@code edge} names the contract a fact belongs to
 * (PISTOL's knowledge-graph edge, "A_B"), or is null.
 */
public record Fact(String id, String entity, String relation, String question, List<String> paraphrases,
        String answer, List<String> perturbed, String sentence, String edge, Split split) {
}
