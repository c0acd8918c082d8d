package dev.palimpsest.request;

/**
 * One thing to change in a model. EDIT: answer {@code question} with {@code target} from now on.
 * FORGET: stop giving {@code answer}; {@code target} is what to say instead (a refusal), for methods
 * that need a target. {@code subject} serves locate-and-edit methods and may be null. A request holds no
 * paraphrases of its question: a dataset's paraphrases are what generalization is measured on, so no method
 * may see them; methods that train on other phrasings make them with {@link PromptVariants}.
 */
public record KnowledgeRequest(Kind kind, String question, String answer, String target, String subject) {
    public enum Kind { EDIT, FORGET }
}
