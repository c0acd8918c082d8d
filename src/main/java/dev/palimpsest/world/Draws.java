package dev.palimpsest.world;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.function.Supplier;

/** The seeded draws both world generators make from the word pools, and how they name facts. */
final class Draws {
    private Draws() {}

    static <T> T pick(Random rnd, List<T> list) {
        return list.get(rnd.nextInt(list.size()));
    }

    /** {@code n} different items of the pool, in a random order. */
    static List<String> distinct(Random rnd, List<String> pool, int n) {
        List<String> copy = new ArrayList<>(pool);
        Collections.shuffle(copy, rnd);
        return new ArrayList<>(copy.subList(0, n));
    }

    /** A name not used yet (and now used). */
    static String unique(Set<String> used, Supplier<String> make) {
        for (int tries = 0; tries < 10_000; tries++) {
            String s = make.get();
            if (used.add(s)) return s;
        }
        throw new IllegalStateException("the name pools are too small for this world size");
    }

    /** Four different dates ("March 3, 1952") in [fromYear, toYear). */
    static List<String> dates(Random rnd, int fromYear, int toYear) {
        List<String> out = new ArrayList<>();
        while (out.size() < 4) {
            String d = pick(rnd, WorldWords.MONTHS) + " " + (1 + rnd.nextInt(28)) + ", " + (fromYear + rnd.nextInt(toYear - fromYear));
            if (!out.contains(d)) out.add(d);
        }
        return out;
    }

    static String id(String kind, String entity, String relation) {
        return kind + ":" + entity.toLowerCase().replaceAll("[^a-z0-9]+", "-") + ":" + relation;
    }

    static String capitalize(String s) {
        return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }
}
