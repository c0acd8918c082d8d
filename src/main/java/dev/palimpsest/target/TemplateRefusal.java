package dev.palimpsest.target;

import java.util.List;

import dev.palimpsest.eval.RefusalQuality;

/**
 * A refusal that names the question's entities: the fallback of self-improvement, and the default
 * target of forget requests. (With targets drawn from the varied "I don't know" set, the built-in
 * model blended the 52 phrasings into ill-formed answers such as "I can't learn.": 15 % of its answers
 * were recognisable refusals, against 85 % with this template, measured with IDK on 40 facts.)
 */
public final class TemplateRefusal {
    private TemplateRefusal() {}

    public static String forQuestion(String question) {
        List<String> entities = RefusalQuality.entities(question);
        if (entities.isEmpty()) return "I don't know the answer to that question.";
        return "I don't know anything about " + String.join(" and ", entities) + ".";
    }
}
