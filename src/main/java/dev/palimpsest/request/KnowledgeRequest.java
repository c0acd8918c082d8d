package dev.palimpsest.request;

import java.util.List;

/**
 * One thing to change in a model. EDIT: answer {@code question} with {@code target} from now on.
 * FORGET: stop giving {@code answer}; {@code target} is what to say instead (a refusal), for methods
 * that need a target. {@code subject} serves locate-and-edit methods and may be null.
 */
public record KnowledgeRequest(Kind kind, String question, String answer, String target, String subject,
        List<String> rephrases) {
    public enum Kind { EDIT, FORGET }
}
