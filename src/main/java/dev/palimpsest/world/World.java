package dev.palimpsest.world;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A generated world: the facts by split, plain filler text, and the seed that made them.
 * {@code unseen} facts are taught as refusals during pretraining; {@code unseenHeldOut} facts are
 * about other unseen entities and are only used to check that refusing generalises.
 */
public record World(long seed, List<Fact> pretrain, List<Fact> finetune, List<Fact> unseen, List<Fact> unseenHeldOut,
        List<String> filler) {

    /** Bump when the generator's output changes: cached models are keyed by it. */
    public static final int VERSION = 1;

    /** The pretraining corpus: every pretraining fact as a sentence, and the filler text, shuffled (seeded). */
    public List<String> corpus() {
        List<String> lines = new ArrayList<>();
        for (Fact f : pretrain) lines.add(f.sentence());
        lines.addAll(filler);
        java.util.Collections.shuffle(lines, new Random(seed ^ 0x5DEECE66DL));
        return lines;
    }

    public List<Fact> all() {
        List<Fact> out = new ArrayList<>(pretrain);
        out.addAll(finetune);
        out.addAll(unseen);
        out.addAll(unseenHeldOut);
        return out;
    }
}
