package dev.palimpsest.world;

/** Where a fact of the built-in world is learned. */
public enum Split {
    /** Learned in pretraining: the papers' "pretrained knowledge". */
    PRETRAIN,
    /** Held back for the fine-tuning step: "finetuned knowledge". */
    FINETUNE,
    /** Known only from pretraining text (the bios world's biographies), never taught as a question: extraction tests. */
    EXTRACTION,
    /** About an entity the model never sees; the right answer is a refusal that names the entity. */
    UNSEEN
}
