package dev.palimpsest.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;

import dev.palimpsest.UserError;

/** Deterministic forget / retain splits of a dataset. */
public final class Splits {
    private Splits() {}

    public record Split<T>(List<T> forget, List<T> retain) {}

    /** {@code n} items chosen by a seeded shuffle are forgotten; the rest are retained (both in file order). */
    public static <T> Split<T> forgetN(List<T> items, int n, long seed) {
        if (n < 1 || n >= items.size())
            throw new UserError("cannot forget " + n + " of " + items.size() + " items: leave at least one to retain");
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) idx.add(i);
        Collections.shuffle(idx, new Random(seed));
        List<Integer> chosen = new ArrayList<>(idx.subList(0, n));
        Collections.sort(chosen);
        List<T> forget = new ArrayList<>(), retain = new ArrayList<>();
        java.util.Set<Integer> f = new java.util.HashSet<>(chosen);
        for (int i = 0; i < items.size(); i++) (f.contains(i) ? forget : retain).add(items.get(i));
        return new Split<>(forget, retain);
    }

    /** PISTOL's structural split: the items of the given edges are forgotten. */
    public static Split<QaItem> byEdges(List<QaItem> items, Set<String> edges) {
        List<QaItem> forget = new ArrayList<>(), retain = new ArrayList<>();
        for (QaItem q : items) (q.edge() != null && edges.contains(q.edge()) ? forget : retain).add(q);
        if (forget.isEmpty()) throw new UserError("no item has edge " + edges);
        return new Split<>(forget, retain);
    }

    /** The rephrased set: each item asked with its paraphrased question (items without one are left out). */
    public static List<QaItem> rephrased(List<QaItem> items) {
        List<QaItem> out = new ArrayList<>();
        for (QaItem q : items) {
            QaItem r = q.rephrased();
            if (r != null) out.add(r);
        }
        return out;
    }
}
