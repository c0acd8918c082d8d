package dev.palimpsest.world;

import java.util.ArrayList;
import java.util.List;

/**
 * A generated world (its generator's name and version): the facts by split, the plain-text corpus, instruction lessons, and the seed that made them.
 * {@code unseen} facts are taught as refusals during pretraining; {@code unseenHeldOut} facts are about other unseen
 * entities and only check that refusing generalises. {@code extraction} facts are known to the model only from the
 * corpus (the bios world's biographies), never taught as questions: they measure whether stored knowledge can be
 * extracted. Of each fact's question forms (its question, then its paraphrases) the first {@code taughtForms} are
 * taught; the rest are held out for evaluation.
 */
public record World(long seed, String name, int version, List<Fact> pretrain, List<Fact> finetune, List<Fact> unseen,
        List<Fact> unseenHeldOut, List<Fact> extraction, List<String> corpus, List<Lesson> lessons, int taughtForms) {

    /** Bump when the default world generator's output changes: cached models are keyed by it. */
    public static final int VERSION = 1;

    /** An instruction-following example taught in pretraining: a prompt and its answer. */
    public record Lesson(String task, String prompt, String answer) {}

    /** The question forms of a fact the model is taught: its question and the first paraphrases. */
    public List<String> taughtForms(Fact f) {
        List<String> forms = new ArrayList<>(List.of(f.question()));
        forms.addAll(f.paraphrases());
        return forms.subList(0, Math.min(forms.size(), taughtForms));
    }

    public List<Fact> all() {
        List<Fact> out = new ArrayList<>(pretrain);
        out.addAll(finetune);
        out.addAll(unseen);
        out.addAll(unseenHeldOut);
        out.addAll(extraction);
        return out;
    }
}
