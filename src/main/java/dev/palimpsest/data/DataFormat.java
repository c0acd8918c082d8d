package dev.palimpsest.data;

import dev.palimpsest.UserError;

/** The question-answer file formats the readers understand. */
public enum DataFormat {
    /** TOFU: question, answer, optional paraphrased_question, perturbed_answer. */
    TOFU,
    /** PISTOL: question, answer, edge. */
    PISTOL,
    /** The built-in world's export: TOFU fields plus id, entity, relation, sentence, split. */
    WORLD,
    /** PKU-SafeRLHF: prompt, response_0, response_1, is_response_0_safe, is_response_1_safe. */
    PKU,
    /** ZsRE as EasyEdit ships it: src, alt, answers, rephrase, loc, loc_ans, subject. */
    ZSRE,
    /** CounterFact as EasyEdit ships it: prompt, subject, target_new, ground_truth, rephrase_prompt, locality_prompt, locality_ground_truth. */
    COUNTERFACT;

    public static DataFormat parse(String s) {
        for (DataFormat f : values()) if (f.name().equalsIgnoreCase(s)) return f;
        throw new UserError("unknown data format '" + s + "' (tofu, pistol, world, pku, zsre, counterfact)");
    }

    /** Formats of edit requests (new targets), as opposed to question-answer pairs. */
    public boolean isEdit() {
        return this == ZSRE || this == COUNTERFACT;
    }
}
