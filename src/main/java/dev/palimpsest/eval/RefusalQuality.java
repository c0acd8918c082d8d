package dev.palimpsest.eval;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An automated stand-in for the human judgement of refusal answers ("trustworthiness"): does the
 * answer refuse, does it name the entities the question is about (a proxy for semantic entailment),
 * and is it well formed (share of repeated word trigrams; perplexity is measured by the evaluator
 * under the base model).
 */
public final class RefusalQuality {
    private RefusalQuality() {}

    /** Runs of capitalised words in the question, after its first word: the entities it names. */
    static final Pattern ENTITY = Pattern.compile("(?<!^)\\b\\p{Lu}[\\p{L}'’-]*(?:\\s+\\p{Lu}[\\p{L}'’-]*)*");

    public static List<String> entities(String question) {
        List<String> out = new ArrayList<>();
        Matcher m = ENTITY.matcher(question.strip());
        while (m.find()) {
            String e = m.group().replaceAll("['’]s$", "");
            if (m.start() > 0 && !e.equals("I")) out.add(e);
        }
        return out;
    }

    /** Share of the question's entities whose every word appears in the answer (1 when it names none). */
    public static double namesEntities(String question, String answer) {
        List<String> ents = entities(question);
        if (ents.isEmpty()) return 1;
        Set<String> words = new HashSet<>(Rouge.tokens(answer));
        int named = 0;
        for (String e : ents) if (words.containsAll(Rouge.tokens(e))) named++;
        return (double) named / ents.size();
    }

    /** Share of word trigrams that repeat an earlier trigram of the same answer (0 for fewer than 4 words). */
    public static double repetitionRate(String answer) {
        String[] w = answer.toLowerCase(Locale.ROOT).replaceAll("[^\\p{L}\\p{N}]+", " ").strip().split(" ");
        if (w.length < 4) return 0;
        Set<String> seen = new HashSet<>();
        int repeats = 0, total = 0;
        for (int i = 0; i + 2 < w.length; i++) {
            total++;
            if (!seen.add(w[i] + " " + w[i + 1] + " " + w[i + 2])) repeats++;
        }
        return (double) repeats / total;
    }
}
