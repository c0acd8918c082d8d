package dev.palimpsest.data;

import java.util.List;

/**
 * An edit request as the editing benchmarks state it: a prompt, the subject it is about (for
 * locate-and-edit methods; may be null), the new target and the old answer, rephrased prompts
 * (generalization) and unrelated prompts with their answers (locality).
 */
public record EditItem(String id, String prompt, String subject, String target, String groundTruth,
        List<String> rephrases, List<String> localityPrompts, List<String> localityAnswers) {
}
