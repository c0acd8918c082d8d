package dev.palimpsest.request;

import java.util.ArrayList;
import java.util.List;

/**
 * The entity a request is about: its own {@code subject} when it has one (CounterFact and ZsRE records do), else
 * the longest run of capitalized words in its question after the first word ("Where was Amara Drummond born?" →
 * "Amara Drummond"; a possessive 's is dropped). Null when the question names nothing that way.
 */
public final class Subjects {
    private Subjects() {}

    public static String of(KnowledgeRequest r) {
        if (r.subject() != null && !r.subject().isBlank()) return r.subject().strip();
        return guess(r.question());
    }

    public static String guess(String question) {
        String[] words = question.strip().split("\\s+");
        List<String> best = List.of(), run = new ArrayList<>();
        for (int i = 1; i <= words.length; i++) {
            String w = i < words.length ? words[i].replaceAll("[?.,!;:\"]+$", "").replaceAll("'s$|’s$", "") : "";
            if (!w.isEmpty() && Character.isUpperCase(w.codePointAt(0))) {
                run.add(w);
                boolean ends = !words[i].equals(w); // punctuation or a possessive closes the name
                if (!ends) continue;
            }
            if (run.size() > best.size()) best = List.copyOf(run);
            run.clear();
        }
        return best.isEmpty() ? null : String.join(" ", best);
    }
}
