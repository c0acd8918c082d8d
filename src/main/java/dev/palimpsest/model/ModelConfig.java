package dev.palimpsest.model;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.UserError;

/**
 * The parts of a Hugging Face {@code config.json} that the runtime needs, validated. The raw JSON is
 * kept so that a saved model carries every field it was loaded with.
 */
public record ModelConfig(
        String architecture,
        Family family,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int maxPositions,
        double normEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        boolean tieEmbeddings,
        boolean qkvBias,
        boolean outputBias,
        boolean mlpBias,
        Integer slidingWindow,
        boolean scaleAttnByInverseLayer,
        Integer bosTokenId,
        List<Integer> eosTokenIds,
        String torchDtype,
        Variant variant,
        ObjectNode raw) {

    /**
     * How a Llama-layout family departs from Llama's block (Llama, Mistral and Qwen2 depart in nothing).
     *
     * @param qkNorm         Qwen3: RMSNorm over each head of q and k before the rotary embedding ({@code q_norm}, {@code k_norm})
     * @param normOffset     Gemma: norms scale by (offset + w), 1 for Gemma's zero-centred weights, else 0
     * @param scaleEmbeddings Gemma: embeddings multiplied by √hidden_size
     * @param gelu           Gemma: the gate's activation is tanh-approximated gelu (GeGLU) instead of SiLU
     * @param sandwichNorms  Gemma 2: norms after attention and around the MLP (post-attention, pre/post feed-forward)
     * @param attnSoftcap    Gemma 2: attention scores soft-capped as cap·tanh(s/cap), or null
     * @param finalSoftcap   Gemma 2: logits soft-capped the same way, or null
     * @param queryScale     Gemma 2: attention scale 1/√query_pre_attn_scalar instead of 1/√head_dim, or null
     * @param alternateWindow Gemma 2: the sliding window applies to even layers only (odd layers attend globally)
     * @param fused          Phi-3: one {@code qkv_proj} (q, k, v rows) and one {@code gate_up_proj} (gate rows first)
     * @param rotaryDim      the head dimensions the rotary embedding turns (head_dim × partial_rotary_factor)
     * @param interleavedRotary GPT-J: rotary pairs of neighbouring dimensions (rotate-every-two), not halves
     * @param parallelResidual the parallel families: attention and MLP read the same stream (GPT-NeoX may say no)
     * @param exactGelu      GPT-NeoX: the MLP's gelu is the exact (erf) one, not the tanh approximation
     */
    public record Variant(boolean qkNorm, double normOffset, boolean scaleEmbeddings, boolean gelu, boolean sandwichNorms,
            Double attnSoftcap, Double finalSoftcap, Double queryScale, boolean alternateWindow, boolean fused, int rotaryDim,
            boolean interleavedRotary, boolean parallelResidual, boolean exactGelu) {
        static Variant plain(int rotaryDim) {
            return new Variant(false, 0, false, false, false, null, null, null, false, false, rotaryDim, false, false, false);
        }

        static Variant parallel(int rotaryDim, boolean interleaved, boolean parallelResidual, boolean exactGelu) {
            return new Variant(false, 0, false, false, false, null, null, null, false, false, rotaryDim, interleaved, parallelResidual, exactGelu);
        }
    }

    /** The sliding window of a layer's attention, or null when it sees the whole context. */
    public Integer windowOf(int layer) {
        if (slidingWindow == null) return null;
        return variant != null && variant.alternateWindow() && layer % 2 == 1 ? null : slidingWindow;
    }

    /** Whether some layers attend through a sliding window and others globally (each pass then builds both masks). */
    public boolean mixedWindows() {
        return slidingWindow != null && variant != null && variant.alternateWindow() && numLayers > 1;
    }

    /**
     * Rotary-frequency scaling as in transformers' rope_scaling (types default, linear, llama3, and Phi-3's longrope,
     * once called su: per-frequency short and long factors, the long ones for passes beyond the original context,
     * cos and sin scaled by the attention factor).
     */
    public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
            int originalMaxPositions, double[] shortFactor, double[] longFactor, double attentionFactor) {
        public static final RopeScaling NONE = new RopeScaling("default", 1, 1, 1, 0);

        RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {
            this(type, factor, lowFreqFactor, highFreqFactor, originalMaxPositions, null, null, 1);
        }
    }

    /** The config.json field that sets the context length (maxPositions). */
    public String contextField() {
        return family == Family.GPT2 || architecture.equals("GPTJForCausalLM") || architecture.equals("gptj") ? "n_positions" : "max_position_embeddings";
    }

    /**
     * Checks that {@code tokens} ids fit the context; {@code what} says whose they are ("prompt 'Where …'").
     * Longer inputs are an error, never silently truncated: a cut prompt asks a different question.
     */
    public void checkFits(long tokens, String what) {
        if (tokens > maxPositions)
            throw new UserError(what + " is " + tokens + " tokens, longer than the model's context of " + maxPositions + " ("
                    + contextField() + " in config.json)");
    }

    public static ModelConfig parse(JsonNode json, Path file) {
        if (json == null || !json.isObject()) throw new UserError(file + ": not a JSON object");
        ObjectNode raw = (ObjectNode) json;
        Fields f = new Fields(raw, file);
        String arch = json.has("architectures") && json.get("architectures").isArray()
                && json.get("architectures").size() > 0
                ? json.get("architectures").get(0).asText()
                : f.str("model_type", null);
        if (arch == null) throw new UserError(file + ": neither 'architectures' nor 'model_type' is set");
        return switch (arch) {
            case "LlamaForCausalLM", "llama" -> llama(arch, f, false, false);
            case "MistralForCausalLM", "mistral" -> llama(arch, f, false, true);
            case "Qwen2ForCausalLM", "qwen2" -> llama(arch, f, true, false);
            case "Qwen3ForCausalLM", "qwen3", "GemmaForCausalLM", "gemma", "Gemma2ForCausalLM", "gemma2",
                    "Phi3ForCausalLM", "phi3" -> variant(arch, f);
            case "PhiForCausalLM", "phi" -> phi(arch, f);
            case "GPTNeoXForCausalLM", "gpt_neox" -> neox(arch, f);
            case "GPTJForCausalLM", "gptj" -> gptj(arch, f);
            case "GPT2LMHeadModel", "gpt2" -> gpt2(arch, f);
            default -> throw new UserError(file + ": unsupported architecture '" + arch + "' (supported: " + SUPPORTED + ")");
        };
    }

    /** The architectures this runtime loads, as config.json names them. */
    public static final String SUPPORTED = "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, "
            + "GemmaForCausalLM, Gemma2ForCausalLM, Phi3ForCausalLM, PhiForCausalLM, GPTNeoXForCausalLM, GPTJForCausalLM, GPT2LMHeadModel";

    /** Phi (phi-1.5, phi-2): biased attention and MLP side by side from one LayerNorm, partial rotary, gelu_new. */
    private static ModelConfig phi(String arch, Fields f) {
        String act = f.str("hidden_act", "gelu_new");
        if (!act.equals("gelu_new")) throw f.error("hidden_act", "'" + act + "' is not supported (gelu_new)");
        if (f.bool("qk_layernorm", false)) throw f.error("qk_layernorm", "true is not supported");
        int hidden = f.positive("hidden_size"), heads = f.positive("num_attention_heads");
        int kvHeads = f.has("num_key_value_heads") ? f.positive("num_key_value_heads") : heads;
        if (hidden % heads != 0) throw f.error("num_attention_heads", heads + " does not divide hidden_size " + hidden);
        if (heads % kvHeads != 0) throw f.error("num_key_value_heads", kvHeads + " does not divide num_attention_heads " + heads);
        int headDim = hidden / heads;
        int rotary = rotaryDim(f, "partial_rotary_factor", headDim, f.has("partial_rotary_factor") ? f.fraction("partial_rotary_factor") : 0.5);
        return new ModelConfig(arch, Family.PARALLEL, f.positive("vocab_size"), hidden, f.positive("intermediate_size"),
                f.positive("num_hidden_layers"), heads, kvHeads, headDim, f.integer("max_position_embeddings", 2048),
                f.number("layer_norm_eps", 1e-5), f.number("rope_theta", 10000.0), ropeScaling(f, rotary, 0, false), f.bool("tie_word_embeddings", false),
                true, true, true, null, false, f.optionalInt("bos_token_id"), f.intList("eos_token_id"), f.str("torch_dtype", "float32"),
                Variant.parallel(rotary, false, true, false), f.raw);
    }

    /** GPT-NeoX / Pythia: fused per-head query_key_value, partial rotary (rotary_pct), two LayerNorms, exact gelu. */
    private static ModelConfig neox(String arch, Fields f) {
        String act = f.str("hidden_act", "gelu");
        if (!act.equals("gelu") && !act.equals("gelu_new")) throw f.error("hidden_act", "'" + act + "' is not supported (gelu, gelu_new)");
        int hidden = f.positive("hidden_size"), heads = f.positive("num_attention_heads");
        if (hidden % heads != 0) throw f.error("num_attention_heads", heads + " does not divide hidden_size " + hidden);
        int headDim = hidden / heads;
        int rotary = rotaryDim(f, "rotary_pct", headDim, f.has("rotary_pct") ? f.fraction("rotary_pct") : 0.25);
        double theta = f.has("rope_theta") ? f.number("rope_theta", 10000) : f.number("rotary_emb_base", 10000);
        boolean bias = f.bool("attention_bias", true);
        return new ModelConfig(arch, Family.PARALLEL, f.positive("vocab_size"), hidden, f.positive("intermediate_size"),
                f.positive("num_hidden_layers"), heads, heads, headDim, f.integer("max_position_embeddings", 2048),
                f.number("layer_norm_eps", 1e-5), theta, ropeScaling(f, rotary, 0, false), f.bool("tie_word_embeddings", false),
                bias, bias, true, null, false, f.optionalInt("bos_token_id"), f.intList("eos_token_id"), f.str("torch_dtype", "float32"),
                Variant.parallel(rotary, false, f.bool("use_parallel_residual", true), act.equals("gelu")), f.raw);
    }

    /** GPT-J: attention (no biases) and MLP side by side from one LayerNorm, interleaved rotary on rotary_dim, gelu_new. */
    private static ModelConfig gptj(String arch, Fields f) {
        String act = f.str("activation_function", "gelu_new");
        if (!act.equals("gelu_new")) throw f.error("activation_function", "'" + act + "' is not supported (gelu_new)");
        int hidden = f.positive("n_embd"), heads = f.positive("n_head");
        if (hidden % heads != 0) throw f.error("n_head", heads + " does not divide n_embd " + hidden);
        int headDim = hidden / heads;
        int rotary = f.has("rotary_dim") ? f.positive("rotary_dim") : headDim;
        if (rotary > headDim || rotary % 2 != 0) throw f.error("rotary_dim", rotary + " must be even and at most the head dimension " + headDim);
        int inner = f.has("n_inner") ? f.positive("n_inner") : 4 * hidden;
        return new ModelConfig(arch, Family.PARALLEL, f.positive("vocab_size"), hidden, inner, f.positive("n_layer"), heads, heads, headDim,
                f.positive("n_positions"), f.number("layer_norm_epsilon", 1e-5), f.number("rope_theta", 10000.0), RopeScaling.NONE,
                f.bool("tie_word_embeddings", false), false, false, true, null, false, f.optionalInt("bos_token_id"),
                f.intList("eos_token_id"), f.str("torch_dtype", "float32"), Variant.parallel(rotary, true, true, false), f.raw);
    }

    /** head_dim × factor, which must be a positive even number of dimensions. */
    private static int rotaryDim(Fields f, String field, int headDim, double factor) {
        int rotary = (int) (headDim * factor);
        if (rotary % 2 != 0 || rotary == 0) throw f.error(field, factor + " leaves an odd or empty rotary dimension (" + rotary + ")");
        return rotary;
    }

    /** Qwen3, Gemma, Gemma 2 and Phi-3: Llama's layout with the departures {@link Variant} lists. */
    private static ModelConfig variant(String arch, Fields f) {
        String kind = arch.toLowerCase(java.util.Locale.ROOT).replace("forcausallm", "");
        boolean gemma = kind.startsWith("gemma"), gemma2 = kind.equals("gemma2"), phi3 = kind.equals("phi3"), qwen3 = kind.equals("qwen3");
        // Gemma's config names the activation hidden_activation (older files: hidden_act); both mean tanh-gelu.
        String actField = gemma && f.has("hidden_activation") ? "hidden_activation" : "hidden_act";
        String act = f.str(actField, gemma ? "gelu_pytorch_tanh" : "silu");
        if (gemma && !act.equals("gelu_pytorch_tanh") && !act.equals("gelu"))
            throw f.error(actField, "'" + act + "' is not supported (gelu_pytorch_tanh)");
        if (!gemma && !act.equals("silu")) throw f.error(actField, "'" + act + "' is not supported (only silu)");
        // q, k, v and o share one attention_bias switch in these families.
        boolean bias = f.bool("attention_bias", false);
        Integer window = (gemma2 || phi3) && f.has("sliding_window") ? f.positive("sliding_window") : null;
        Double attnCap = gemma2 ? f.optionalNumber("attn_logit_softcapping") : null;
        Double finalCap = gemma2 ? f.optionalNumber("final_logit_softcapping") : null;
        Double queryScale = gemma2 && f.has("query_pre_attn_scalar") ? 1.0 / Math.sqrt(f.number("query_pre_attn_scalar", 1)) : null;
        if (gemma2 && f.has("layer_types")) checkAlternating(f, f.positive("num_hidden_layers"));
        return llamaShape(arch, f, bias, bias, window, gemma, phi3, rotary -> new Variant(qwen3, gemma ? 1.0 : 0.0, gemma, gemma, gemma2,
                attnCap, finalCap, queryScale, gemma2, phi3, rotary, false, false, false));
    }

    /** Phi-3's longrope (once called su); {@code rotary} dimensions take one factor per pair. */
    private static RopeScaling longRope(Fields f, JsonNode rs, int rotary, int maxPositions) {
        double[] shortF = factors(f, rs, "short_factor", rotary / 2), longF = factors(f, rs, "long_factor", rotary / 2);
        // As transformers: the ratio of the extended to the original context sets the attention factor, unless given.
        int original = f.has("original_max_position_embeddings") ? f.positive("original_max_position_embeddings")
                : rs.has("original_max_position_embeddings") ? rs.get("original_max_position_embeddings").asInt() : maxPositions;
        double factor = (double) maxPositions / original;
        double attention = rs.has("attention_factor") && !rs.get("attention_factor").isNull() ? scalingNumber(f, rs, "attention_factor", null)
                : factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(original));
        return new RopeScaling("longrope", factor, 1, 1, original, shortF, longF, attention);
    }

    private static double[] factors(Fields f, JsonNode rs, String name, int n) {
        JsonNode a = rs.get(name);
        if (a == null || !a.isArray() || a.size() != n)
            throw f.error("rope_scaling", "'" + name + "' must list " + n + " numbers (one per rotary frequency), got " + a);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            if (!a.get(i).isNumber() || !(a.get(i).asDouble() > 0)) throw f.error("rope_scaling", "'" + name + "' holds " + a.get(i) + ", not a positive number");
            out[i] = a.get(i).asDouble();
        }
        return out;
    }

    /** Gemma 2's layer_types, when given, must be the alternation this runtime implements (sliding on even layers). */
    private static void checkAlternating(Fields f, int layers) {
        JsonNode types = f.raw.get("layer_types");
        if (!types.isArray() || types.size() != layers) throw f.error("layer_types", "expected one entry per layer (" + layers + ")");
        for (int i = 0; i < layers; i++) {
            String want = i % 2 == 0 ? "sliding_attention" : "full_attention";
            if (!types.get(i).asText().equals(want))
                throw f.error("layer_types", "layer " + i + " is '" + types.get(i).asText() + "'; only Gemma 2's alternation (sliding on even layers) is supported");
        }
    }

    private static ModelConfig llama(String arch, Fields f, boolean qwen, boolean mistral) {
        String act = f.str("hidden_act", "silu");
        if (!act.equals("silu")) throw f.error("hidden_act", "'" + act + "' is not supported (only silu)");
        Integer window = null;
        if (mistral && f.has("sliding_window")) window = f.positive("sliding_window");
        if (qwen && f.bool("use_sliding_window", false) && f.has("sliding_window")) window = f.positive("sliding_window");
        boolean bias = f.bool("attention_bias", false);
        return llamaShape(arch, f, qwen || bias, !qwen && bias, window, false, false, Variant::plain);
    }

    /**
     * The fields every Llama-layout config shares. {@code tiedByDefault}: Gemma ties its embeddings unless told
     * otherwise; {@code longRope}: Phi-3 may scale its rotary frequencies so; {@code variant} of the rotary dimension
     * (head_dim × partial_rotary_factor): how the family departs from Llama.
     */
    private static ModelConfig llamaShape(String arch, Fields f, boolean attnBias, boolean outputBias, Integer window, boolean tiedByDefault,
            boolean longRope, java.util.function.IntFunction<Variant> variant) {
        int hidden = f.positive("hidden_size");
        int heads = f.positive("num_attention_heads");
        int kvHeads = f.has("num_key_value_heads") ? f.positive("num_key_value_heads") : heads;
        if (heads % kvHeads != 0) throw f.error("num_key_value_heads", kvHeads + " does not divide num_attention_heads " + heads);
        int headDim = f.has("head_dim") ? f.positive("head_dim") : hidden / heads;
        if (!f.has("head_dim") && hidden % heads != 0) throw f.error("num_attention_heads", heads + " does not divide hidden_size " + hidden);
        int rotary = rotaryDim(f, "partial_rotary_factor", headDim, f.has("partial_rotary_factor") ? f.fraction("partial_rotary_factor") : 1.0);
        int maxPositions = f.integer("max_position_embeddings", 2048);
        return new ModelConfig(arch, Family.LLAMA, f.positive("vocab_size"), hidden, f.positive("intermediate_size"),
                f.positive("num_hidden_layers"), heads, kvHeads, headDim, maxPositions,
                f.number("rms_norm_eps", 1e-6), f.number("rope_theta", 10000.0), ropeScaling(f, rotary, maxPositions, longRope),
                f.bool("tie_word_embeddings", tiedByDefault), attnBias, outputBias, f.bool("mlp_bias", false), window,
                false, f.optionalInt("bos_token_id"), f.intList("eos_token_id"), f.str("torch_dtype", "float32"),
                variant.apply(rotary), f.raw);
    }

    private static ModelConfig gpt2(String arch, Fields f) {
        String act = f.str("activation_function", "gelu_new");
        if (!act.equals("gelu_new") && !act.equals("gelu_pytorch_tanh"))
            throw f.error("activation_function", "'" + act + "' is not supported (only gelu_new)");
        if (f.bool("reorder_and_upcast_attn", false)) throw f.error("reorder_and_upcast_attn", "true is not supported");
        if (!f.bool("scale_attn_weights", true)) throw f.error("scale_attn_weights", "false is not supported");
        int hidden = f.positive("n_embd");
        int heads = f.positive("n_head");
        if (hidden % heads != 0) throw f.error("n_head", heads + " does not divide n_embd " + hidden);
        int inner = f.has("n_inner") && !f.raw.get("n_inner").isNull() ? f.positive("n_inner") : 4 * hidden;
        return new ModelConfig(arch, Family.GPT2, f.positive("vocab_size"), hidden, inner, f.positive("n_layer"),
                heads, heads, hidden / heads, f.positive("n_positions"), f.number("layer_norm_epsilon", 1e-5), 0,
                RopeScaling.NONE, f.bool("tie_word_embeddings", true), true, true, true, null,
                f.bool("scale_attn_by_inverse_layer_idx", false), f.optionalInt("bos_token_id"),
                f.intList("eos_token_id"), f.str("torch_dtype", "float32"), null, f.raw);
    }

    /** rope_scaling; {@code longRope}: the family may use longrope (Phi-3), whose factors need the {@code rotary} dimension. */
    private static RopeScaling ropeScaling(Fields f, int rotary, int maxPositions, boolean longRope) {
        JsonNode rs = f.raw.get("rope_scaling");
        if (rs == null || rs.isNull()) return RopeScaling.NONE;
        if (!rs.isObject()) throw f.error("rope_scaling", "expected an object or null, got " + rs);
        JsonNode typeNode = rs.has("rope_type") ? rs.get("rope_type") : rs.get("type");
        if (typeNode != null && !typeNode.isTextual()) throw f.error("rope_scaling", "'rope_type' must be text, got " + typeNode);
        String type = typeNode == null ? "default" : typeNode.asText();
        return switch (type) {
            case "default" -> RopeScaling.NONE;
            case "linear" -> new RopeScaling("linear", scalingNumber(f, rs, "factor", null), 1, 1, 0);
            case "llama3" -> {
                double low = scalingNumber(f, rs, "low_freq_factor", 1.0), high = scalingNumber(f, rs, "high_freq_factor", 4.0);
                if (high <= low) throw f.error("rope_scaling", "'high_freq_factor' (" + high + ") must exceed 'low_freq_factor' (" + low + ")");
                yield new RopeScaling("llama3", scalingNumber(f, rs, "factor", null), low, high,
                        (int) scalingNumber(f, rs, "original_max_position_embeddings", 8192.0));
            }
            case "longrope", "su" -> {
                if (!longRope) throw f.error("rope_scaling", "type '" + type + "' is supported for Phi-3 only");
                yield longRope(f, rs, rotary, maxPositions);
            }
            default -> throw f.error("rope_scaling", "type '" + type + "' is not supported (default, linear, llama3; longrope for Phi-3)");
        };
    }

    /** A positive, finite number of rope_scaling; {@code fallback} null means it is required. */
    private static double scalingNumber(Fields f, JsonNode rs, String name, Double fallback) {
        JsonNode n = rs.get(name);
        if (n == null || n.isNull()) {
            if (fallback == null) throw f.error("rope_scaling", "'" + name + "' is missing");
            return fallback;
        }
        if (!n.isNumber() || !(n.asDouble() > 0) || !Double.isFinite(n.asDouble()))
            throw f.error("rope_scaling", "'" + name + "' must be a positive number, got " + n);
        return n.asDouble();
    }

    /** Field access with errors that name the file and the field. */
    private static final class Fields {
        final ObjectNode raw;
        final Path file;

        Fields(ObjectNode raw, Path file) {
            this.raw = raw;
            this.file = file;
        }

        boolean has(String name) {
            return raw.has(name) && !raw.get(name).isNull();
        }

        UserError error(String field, String problem) {
            return new UserError(file + ": field '" + field + "': " + problem);
        }

        int positive(String name) {
            if (!has(name)) throw error(name, "missing");
            JsonNode n = raw.get(name);
            if (!n.canConvertToInt() || !n.isIntegralNumber() || n.asInt() <= 0)
                throw error(name, "expected a positive integer, got " + n);
            return n.asInt();
        }

        int integer(String name, int fallback) {
            return has(name) ? positive(name) : fallback;
        }

        Integer optionalInt(String name) {
            if (!has(name)) return null;
            JsonNode n = raw.get(name);
            if (n.isArray()) return n.size() > 0 ? n.get(0).asInt() : null;
            if (!n.isIntegralNumber()) throw error(name, "expected an integer, got " + n);
            return n.asInt();
        }

        List<Integer> intList(String name) {
            List<Integer> out = new ArrayList<>();
            if (!has(name)) return out;
            JsonNode n = raw.get(name);
            if (n.isArray()) {
                for (JsonNode e : n) {
                    if (!e.isIntegralNumber()) throw error(name, "expected integers, got " + n);
                    out.add(e.asInt());
                }
            } else if (n.isIntegralNumber()) {
                out.add(n.asInt());
            } else {
                throw error(name, "expected an integer or a list of integers, got " + n);
            }
            return out;
        }

        double number(String name, double fallback) {
            if (!has(name)) return fallback;
            JsonNode n = raw.get(name);
            if (!n.isNumber() || !(n.asDouble() > 0) || !Double.isFinite(n.asDouble()))
                throw error(name, "expected a positive number, got " + n);
            return n.asDouble();
        }

        /** A number in (0, 1]. */
        double fraction(String name) {
            double v = number(name, 1);
            if (v > 1) throw error(name, "expected a number in (0, 1], got " + v);
            return v;
        }

        Double optionalNumber(String name) {
            return has(name) ? number(name, 1) : null;
        }

        boolean bool(String name, boolean fallback) {
            if (!has(name)) return fallback;
            JsonNode n = raw.get(name);
            if (!n.isBoolean()) throw error(name, "expected true or false, got " + n);
            return n.asBoolean();
        }

        String str(String name, String fallback) {
            return has(name) ? raw.get(name).asText() : fallback;
        }
    }
}
