package dev.palimpsest.data;

import dev.palimpsest.UserError;

/** The question-answer file formats the readers understand. */
public enum DataFormat {
    /** TOFU: question, answer, optional paraphrased_question, perturbed_answer. */
    TOFU,
    /** PISTOL: question, answer, edge. */
    PISTOL,
    /** The built-in world's export: TOFU fields plus id, entity, relation, sentence, split. */
    WORLD;

    public static DataFormat parse(String s) {
        for (DataFormat f : values()) if (f.name().equalsIgnoreCase(s)) return f;
        throw new UserError("unknown data format '" + s + "' (tofu, pistol, world)");
    }
}
