package dev.palimpsest.model;

/** The two transformer layouts this runtime implements. */
public enum Family {
    /** Llama, Mistral and Qwen2: RMSNorm, rotary positions, gated SiLU MLP, grouped-query attention. */
    LLAMA,
    /** GPT-2: LayerNorm, learned positions, gelu_new MLP, Conv1D weights stored [in, out]. */
    GPT2
}
