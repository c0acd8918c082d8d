package dev.palimpsest.eval;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.tartarus.snowball.ext.PorterStemmer;

/**
 * ROUGE recall with the conventions of Google's rouge-score package, as TOFU and PISTOL use it:
 * lower-case, every run of characters other than a–z and 0–9 is a separator, words longer than three
 * characters are Porter-stemmed. ROUGE-1 recall = matched unigrams (each reference word matched at
 * most as often as it occurs in the candidate) / reference words. ROUGE-L recall = longest common
 * subsequence / reference words. An empty reference scores 0. (Stemming uses Snowball's original
 * Porter algorithm; rouge-score uses NLTK's variant, which differs on a few irregular words.)
 */
public final class Rouge {
    private Rouge() {}

    public static List<String> tokens(String text) {
        String norm = text.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9]+", " ").strip();
        List<String> out = new ArrayList<>();
        if (norm.isEmpty()) return out;
        PorterStemmer stemmer = new PorterStemmer();
        for (String t : norm.split(" ")) {
            if (t.length() > 3) {
                stemmer.setCurrent(t);
                stemmer.stem();
                t = stemmer.getCurrent();
            }
            if (!t.isEmpty()) out.add(t);
        }
        return out;
    }

    public static double rouge1Recall(String candidate, String reference) {
        List<String> ref = tokens(reference), cand = tokens(candidate);
        if (ref.isEmpty()) return 0;
        Map<String, Integer> counts = new HashMap<>();
        for (String t : cand) counts.merge(t, 1, Integer::sum);
        Map<String, Integer> refCounts = new HashMap<>();
        for (String t : ref) refCounts.merge(t, 1, Integer::sum);
        int match = 0;
        for (Map.Entry<String, Integer> e : refCounts.entrySet()) match += Math.min(e.getValue(), counts.getOrDefault(e.getKey(), 0));
        return (double) match / ref.size();
    }

    public static double rougeLRecall(String candidate, String reference) {
        List<String> ref = tokens(reference), cand = tokens(candidate);
        if (ref.isEmpty()) return 0;
        int[][] lcs = new int[ref.size() + 1][cand.size() + 1];
        for (int i = 1; i <= ref.size(); i++)
            for (int j = 1; j <= cand.size(); j++)
                lcs[i][j] = ref.get(i - 1).equals(cand.get(j - 1)) ? lcs[i - 1][j - 1] + 1
                        : Math.max(lcs[i - 1][j], lcs[i][j - 1]);
        return (double) lcs[ref.size()][cand.size()] / ref.size();
    }
}
