package dev.palimpsest.request;

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
        // A merged question ("q1? q2?") is read one question at a time, so no question's first word counts as a name.
        java.util.Set<String> entities = new java.util.LinkedHashSet<>();
        for (String q : question.split("(?<=[?.!])\\s+")) entities.addAll(RefusalQuality.entities(q));
        if (entities.isEmpty()) return "I don't know the answer to that question.";
        return "I don't know anything about " + String.join(" and ", entities) + ".";
    }
}
