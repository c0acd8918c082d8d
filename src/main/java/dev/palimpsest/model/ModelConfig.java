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
        ObjectNode raw) {

    /** Rotary-frequency scaling as in transformers' rope_scaling (types default, linear, llama3). */
    public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
            int originalMaxPositions) {
        public static final RopeScaling NONE = new RopeScaling("default", 1, 1, 1, 0);
    }

    /** The config.json field that sets the context length (maxPositions). */
    public String contextField() {
        return family == Family.GPT2 ? "n_positions" : "max_position_embeddings";
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
            case "GPT2LMHeadModel", "gpt2" -> gpt2(arch, f);
            default -> throw new UserError(file + ": unsupported architecture '" + arch
                    + "' (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, GPT2LMHeadModel)");
        };
    }

    private static ModelConfig llama(String arch, Fields f, boolean qwen, boolean mistral) {
        String act = f.str("hidden_act", "silu");
        if (!act.equals("silu")) throw f.error("hidden_act", "'" + act + "' is not supported (only silu)");
        int hidden = f.positive("hidden_size");
        int heads = f.positive("num_attention_heads");
        int kvHeads = f.has("num_key_value_heads") ? f.positive("num_key_value_heads") : heads;
        if (heads % kvHeads != 0) throw f.error("num_key_value_heads", kvHeads + " does not divide num_attention_heads " + heads);
        int headDim = f.has("head_dim") ? f.positive("head_dim") : hidden / heads;
        if (!f.has("head_dim") && hidden % heads != 0) throw f.error("num_attention_heads", heads + " does not divide hidden_size " + hidden);
        boolean attnBias = qwen || f.bool("attention_bias", false);
        Integer window = null;
        if (mistral && f.has("sliding_window")) window = f.positive("sliding_window");
        if (qwen && f.bool("use_sliding_window", false) && f.has("sliding_window")) window = f.positive("sliding_window");
        return new ModelConfig(arch, Family.LLAMA, f.positive("vocab_size"), hidden, f.positive("intermediate_size"),
                f.positive("num_hidden_layers"), heads, kvHeads, headDim, f.integer("max_position_embeddings", 2048),
                f.number("rms_norm_eps", 1e-6), f.number("rope_theta", 10000.0), ropeScaling(f),
                f.bool("tie_word_embeddings", false), attnBias, attnBias && !qwen, f.bool("mlp_bias", false), window,
                false, f.optionalInt("bos_token_id"), f.intList("eos_token_id"), f.str("torch_dtype", "float32"), f.raw);
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
                f.intList("eos_token_id"), f.str("torch_dtype", "float32"), f.raw);
    }

    private static RopeScaling ropeScaling(Fields f) {
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
            default -> throw f.error("rope_scaling", "type '" + type + "' is not supported (default, linear, llama3)");
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
