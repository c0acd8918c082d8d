package dev.palimpsest.model;

/**
 * Renders one user turn followed by the assistant's cue in the chat format a model was tuned with.
 * Hugging Face stores that format as a Jinja template; rather than run Jinja, this class recognises
 * the common families by their markers (ChatML, Llama 2 / Mistral [INST], Llama 3 headers, Gemma,
 * Zephyr, Phi-3) and renders them directly. An unknown template falls back to the plain question.
 */
public final class ChatTemplate {
    public enum Format { CHATML, INST, LLAMA3, GEMMA, ZEPHYR, PHI3, PLAIN }

    private final Format format;
    private final String bosText;
    private final String eosText;

    private ChatTemplate(Format format, String bosText, String eosText) {
        this.format = format;
        this.bosText = bosText;
        this.eosText = eosText;
    }

    /** Recognises a template's family; a null or unrecognised template gives {@link Format#PLAIN}. */
    public static ChatTemplate of(String template, String bosText, String eosText) {
        return new ChatTemplate(detect(template), bosText == null ? "" : bosText, eosText == null ? "" : eosText);
    }

    static Format detect(String t) {
        if (t == null || t.isBlank()) return Format.PLAIN;
        if (t.contains("<|im_start|>")) return Format.CHATML;
        if (t.contains("<|start_header_id|>")) return Format.LLAMA3;
        if (t.contains("<start_of_turn>")) return Format.GEMMA;
        if (t.contains("[INST]")) return Format.INST;
        if (t.contains("<|user|>") && t.contains("<|end|>")) return Format.PHI3;
        if (t.contains("<|user|>")) return Format.ZEPHYR;
        return Format.PLAIN;
    }

    public Format format() {
        return format;
    }

    /**
     * The prompt text for one question. Special-token strings (such as a leading BOS that a template
     * writes itself) are omitted: the tokenizer adds BOS as its config asks.
     */
    public String render(String question) {
        return switch (format) {
            case CHATML -> "<|im_start|>user\n" + question + "<|im_end|>\n<|im_start|>assistant\n";
            case INST -> "[INST] " + question.strip() + " [/INST]";
            case LLAMA3 -> "<|start_header_id|>user<|end_header_id|>\n\n" + question.strip()
                    + "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
            case GEMMA -> "<start_of_turn>user\n" + question.strip() + "<end_of_turn>\n<start_of_turn>model\n";
            case ZEPHYR -> "<|user|>\n" + question + eosText + "\n<|assistant|>\n";
            case PHI3 -> "<|user|>\n" + question + "<|end|>\n<|assistant|>\n";
            case PLAIN -> question;
        };
    }
}
