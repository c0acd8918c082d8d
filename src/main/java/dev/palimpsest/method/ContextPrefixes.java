package dev.palimpsest.method;

import java.util.ArrayList;
import java.util.List;

import dev.palimpsest.model.Generator;
import dev.palimpsest.model.LanguageModel;

/**
 * Short texts the model writes itself from fixed seeds, put before an edit's prompt so that what is learned
 * holds in more than one context (ROME's context templates; MEMIT, AlphaEdit and WISE use them too).
 */
public final class ContextPrefixes {
    static final List<String> SEEDS = List.of("The", "Therefore", "Because", "I", "You");

    private ContextPrefixes() {}

    /** The bare prompt ("") and five prefixes of six generated tokens, each ending ". ". */
    public static List<String> of(LanguageModel m) {
        List<String> out = new ArrayList<>(List.of(""));
        for (Generator.Generation g : Generator.greedy(m, SEEDS, 6, SEEDS.size())) {
            String p = (SEEDS.get(out.size() - 1) + g.text()).replace("\n", " ").strip();
            out.add(p.replaceAll("[.!?]+$", "") + ". ");
        }
        return out;
    }
}
