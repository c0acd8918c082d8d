package dev.palimpsest.request;

import java.util.ArrayList;
import java.util.List;

/**
 * The entity a request is about: its own {@code subject} when it has one (CounterFact and ZsRE records do), else
 * the longest run of capitalized words in its question after the first word ("Where was Amara Drummond born?" →
 * "Amara Drummond"; a possessive 's is dropped). Null when the question names nothing that way. {@link #all} gives
 * every run of that longest length, for questions about two entities ("the contract between Summit Logistics and North
 * Energy").
 */
public final class Subjects {
    private Subjects() {}

    public static String of(KnowledgeRequest r) {
        if (r.subject() != null && !r.subject().isBlank()) return r.subject().strip();
        return guess(r.question());
    }

    /** The request's own subject, else every longest run of capitalized words of its question (empty when none). */
    public static List<String> all(KnowledgeRequest r) {
        if (r.subject() != null && !r.subject().isBlank()) return List.of(r.subject().strip());
        List<List<String>> runs = runs(r.question());
        int longest = runs.stream().mapToInt(List::size).max().orElse(0);
        return runs.stream().filter(x -> x.size() == longest).map(x -> String.join(" ", x)).distinct().toList();
    }

    public static String guess(String question) {
        List<String> best = List.of();
        for (List<String> run : runs(question)) if (run.size() > best.size()) best = run;
        return best.isEmpty() ? null : String.join(" ", best);
    }

    /** The runs of capitalized words after the first word, in order. */
    private static List<List<String>> runs(String question) {
        String[] words = question.strip().split("\\s+");
        List<List<String>> out = new ArrayList<>();
        List<String> run = new ArrayList<>();
        for (int i = 1; i <= words.length; i++) {
            String w = i < words.length ? words[i].replaceAll("[?.,!;:\"]+$", "").replaceAll("'s$|’s$", "") : "";
            if (!w.isEmpty() && Character.isUpperCase(w.codePointAt(0))) {
                run.add(w);
                boolean ends = !words[i].equals(w); // punctuation or a possessive closes the name
                if (!ends) continue;
            }
            if (!run.isEmpty()) out.add(List.copyOf(run));
            run.clear();
        }
        return out;
    }
}
