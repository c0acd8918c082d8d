package dev.palimpsest.model;

/** The transformer layouts this runtime implements. */
public enum Family {
    /** Llama, Mistral, Qwen2/3, Gemma 1/2, Phi-3: RMSNorm, rotary positions, gated MLP, grouped-query attention. */
    LLAMA,
    /** Phi, GPT-NeoX / Pythia, GPT-J: LayerNorm, attention and MLP side by side, partial rotary positions. */
    PARALLEL,
    /** GPT-2: LayerNorm, learned positions, gelu_new MLP, Conv1D weights stored [in, out]. */
    GPT2
}
