package dev.palimpsest.request;

import java.util.List;

/**
 * The other phrasings of a request that methods may train on (WISE's in-scope sequences, LOKA's router
 * positives): the request's own question inside a few fixed wrappers. Requests never carry a dataset's
 * paraphrases, because those are what generalization is measured on; these wrappers leave the question's
 * words as they are, so they are disjoint from any evaluation paraphrase by construction.
 */
public final class PromptVariants {
    private PromptVariants() {}

    /** The wrappers, {@code %s} standing for the question. */
    public static final List<String> TEMPLATES = List.of("Please answer: %s", "Quick question. %s", "%s Answer in a few words.");

    /** The question inside each wrapper (not the bare question itself). */
    public static List<String> of(String question) {
        return TEMPLATES.stream().map(t -> String.format(t, question.strip())).toList();
    }
}
