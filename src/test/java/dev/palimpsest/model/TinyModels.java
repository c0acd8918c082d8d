package dev.palimpsest.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.tensor.Tensors;

/** Tiny random models and the model directories the tests write (config, weights, WordLevel tokenizer). */
public final class TinyModels {
    private TinyModels() {}

    public static final ObjectMapper JSON = new ObjectMapper();

    /** The test vocabulary: three special tokens, then words; WordLevel splits on whitespace. */
    public static final List<String> VOCAB = List.of("<unk>", "<s>", "</s>", "the", "capital", "of", "france", "is",
            "paris", "a", "cat", "sat", "on", "mat", "who", "wrote", "book", "river", "flows", "through", "city",
            "answer", "question", ":", "?", ".", "red", "blue", "green", "one", "two", "three", "four", "five",
            "six", "seven", "eight", "nine", "ten", "end");

    public static ObjectNode llamaConfig() {
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("model_type", "llama");
        c.put("vocab_size", VOCAB.size());
        c.put("hidden_size", 16);
        c.put("intermediate_size", 24);
        c.put("num_hidden_layers", 2);
        c.put("num_attention_heads", 4);
        c.put("num_key_value_heads", 2);
        c.put("max_position_embeddings", 64);
        c.put("rms_norm_eps", 1e-6);
        c.put("rope_theta", 10000.0);
        c.put("tie_word_embeddings", false);
        c.put("bos_token_id", 1);
        c.put("eos_token_id", 2);
        c.put("hidden_act", "silu");
        c.put("torch_dtype", "float32");
        return c;
    }

    public static ObjectNode qwen2Config() {
        ObjectNode c = llamaConfig();
        c.putArray("architectures").add("Qwen2ForCausalLM");
        c.put("model_type", "qwen2");
        c.put("rope_theta", 1000000.0);
        return c;
    }

    /** Qwen3: per-head q/k RMSNorm, head_dim 8 (so heads × head_dim = 32 is not the width 16). */
    public static ObjectNode qwen3Config() {
        ObjectNode c = llamaConfig();
        c.putArray("architectures").add("Qwen3ForCausalLM");
        c.put("model_type", "qwen3");
        c.put("head_dim", 8);
        c.put("rope_theta", 1000000.0);
        return c;
    }

    /** Gemma: (1 + w) norms, embeddings × √width, GeGLU, tied, one key-value head, head_dim 8. */
    public static ObjectNode gemmaConfig() {
        ObjectNode c = llamaConfig();
        c.remove("hidden_act");
        c.putArray("architectures").add("GemmaForCausalLM");
        c.put("model_type", "gemma");
        c.put("head_dim", 8);
        c.put("num_key_value_heads", 1);
        c.put("tie_word_embeddings", true);
        c.put("hidden_activation", "gelu_pytorch_tanh");
        return c;
    }

    /** Gemma 2: Gemma plus sandwich norms, soft-capping, query_pre_attn_scalar and a sliding window of 3 on even layers. */
    public static ObjectNode gemma2Config() {
        ObjectNode c = gemmaConfig();
        c.putArray("architectures").add("Gemma2ForCausalLM");
        c.put("model_type", "gemma2");
        c.put("num_hidden_layers", 3);
        c.put("num_key_value_heads", 2);
        c.put("query_pre_attn_scalar", 6);
        c.put("attn_logit_softcapping", 2.0);
        c.put("final_logit_softcapping", 3.0);
        c.put("sliding_window", 3);
        return c;
    }

    /** Phi-3: fused qkv and gate_up projections, half the head dimensions rotary. */
    public static ObjectNode phi3Config() {
        ObjectNode c = llamaConfig();
        c.putArray("architectures").add("Phi3ForCausalLM");
        c.put("model_type", "phi3");
        c.put("partial_rotary_factor", 0.5);
        return c;
    }

    /** Phi: biased attention and MLP side by side from one LayerNorm, half the head rotary, gelu_new, biased head. */
    public static ObjectNode phiConfig() {
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add("PhiForCausalLM");
        c.put("model_type", "phi");
        c.put("vocab_size", VOCAB.size());
        c.put("hidden_size", 16);
        c.put("intermediate_size", 24);
        c.put("num_hidden_layers", 2);
        c.put("num_attention_heads", 4);
        c.put("partial_rotary_factor", 0.5);
        c.put("layer_norm_eps", 1e-5);
        c.put("hidden_act", "gelu_new");
        c.put("max_position_embeddings", 64);
        c.put("bos_token_id", 1);
        c.put("eos_token_id", 2);
        c.put("torch_dtype", "float32");
        return c;
    }

    /** GPT-NeoX / Pythia: fused per-head qkv, a quarter of the head rotary, two LayerNorms, exact gelu. */
    public static ObjectNode gptNeoxConfig() {
        ObjectNode c = phiConfig();
        c.putArray("architectures").add("GPTNeoXForCausalLM");
        c.put("model_type", "gpt_neox");
        c.remove("partial_rotary_factor");
        c.put("num_attention_heads", 2);
        c.put("rotary_pct", 0.25);
        c.put("hidden_act", "gelu");
        c.put("use_parallel_residual", true);
        return c;
    }

    /** GPT-J: interleaved rotary on 4 of 8 head dimensions, bias-free attention, gelu_new, biased head. */
    public static ObjectNode gptjConfig() {
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add("GPTJForCausalLM");
        c.put("model_type", "gptj");
        c.put("vocab_size", VOCAB.size());
        c.put("n_embd", 16);
        c.put("n_inner", 24);
        c.put("n_layer", 2);
        c.put("n_head", 2);
        c.put("rotary_dim", 4);
        c.put("layer_norm_epsilon", 1e-5);
        c.put("activation_function", "gelu_new");
        c.put("n_positions", 64);
        c.put("bos_token_id", 1);
        c.put("eos_token_id", 2);
        c.put("torch_dtype", "float32");
        return c;
    }

    /** A tiny config of every family the runtime implements, by name. */
    public static ObjectNode config(String family) {
        return switch (family) {
            case "llama" -> llamaConfig();
            case "qwen2" -> qwen2Config();
            case "qwen3" -> qwen3Config();
            case "gemma" -> gemmaConfig();
            case "gemma2" -> gemma2Config();
            case "phi3" -> phi3Config();
            case "phi" -> phiConfig();
            case "gptneox" -> gptNeoxConfig();
            case "gptj" -> gptjConfig();
            case "gpt2" -> gpt2Config();
            default -> throw new IllegalArgumentException(family);
        };
    }

    public static final List<String> FAMILIES = List.of("llama", "qwen2", "qwen3", "gemma", "gemma2", "phi3", "phi", "gptneox", "gptj", "gpt2");

    /** {@link #FAMILIES}, for parameterized tests. */
    public static java.util.stream.Stream<String> families() {
        return FAMILIES.stream();
    }

    public static ObjectNode tiedLlamaConfig() {
        ObjectNode c = llamaConfig();
        c.put("tie_word_embeddings", true);
        c.put("num_key_value_heads", 4);
        return c;
    }

    public static ObjectNode gpt2Config() {
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add("GPT2LMHeadModel");
        c.put("model_type", "gpt2");
        c.put("vocab_size", VOCAB.size());
        c.put("n_embd", 16);
        c.put("n_layer", 2);
        c.put("n_head", 4);
        c.put("n_positions", 64);
        c.put("layer_norm_epsilon", 1e-5);
        c.put("activation_function", "gelu_new");
        c.put("bos_token_id", 1);
        c.put("eos_token_id", 2);
        return c;
    }

    public static ModelConfig parse(ObjectNode json) {
        return ModelConfig.parse(json, Path.of("config.json"));
    }

    /** Random weights with every parameter perturbed (norm weights near one, biases near zero), seeded. */
    public static CausalLM randomNet(ObjectNode configJson, long seed) {
        return randomNet(parse(configJson), seed);
    }

    public static CausalLM randomNet(ModelConfig config, long seed) {
        torch.manual_seed(seed);
        Map<String, Tensor> params = new LinkedHashMap<>();
        for (ParamSpec s : CausalLM.specs(config)) {
            Tensor noise = Tensors.randn(ScalarType.Float, s.shape());
            Tensor t = switch (s.init()) {
                case NORMAL -> noise.mul(Tensors.scalar(0.3));
                case ONES -> noise.mul(Tensors.scalar(0.1)).add(Tensors.scalar(1));
                case ZEROS -> noise.mul(Tensors.scalar(0.1));
            };
            params.put(s.name(), t);
        }
        return CausalLM.create(config, params, "test");
    }

    /** The same network in fp64 (for finite differences). */
    public static CausalLM toDouble(CausalLM net) {
        Map<String, Tensor> params = new LinkedHashMap<>();
        net.parameters().forEach((k, v) -> params.put(k, v.toType(ScalarType.Double)));
        return CausalLM.create(net.config(), params, "test");
    }

    /** Writes a loadable model directory for the network. */
    public static Path writeDir(Path dir, ObjectNode configJson, CausalLM net, DType dtype, boolean addBos)
            throws IOException {
        Files.createDirectories(dir);
        ObjectNode cfg = configJson.deepCopy();
        cfg.put("torch_dtype", dtype.torchName());
        Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(cfg));
        Checkpoint.save(dir, net.parameters(), dtype);
        Files.writeString(dir.resolve("tokenizer.json"), wordLevelTokenizer());
        ObjectNode tc = JSON.createObjectNode();
        tc.put("bos_token", "<s>");
        tc.put("eos_token", "</s>");
        tc.put("add_bos_token", addBos);
        Files.writeString(dir.resolve("tokenizer_config.json"), JSON.writeValueAsString(tc));
        return dir;
    }

    public static String wordLevelTokenizer() {
        ObjectNode t = JSON.createObjectNode();
        t.put("version", "1.0");
        t.putNull("truncation");
        t.putNull("padding");
        ArrayNode added = t.putArray("added_tokens");
        for (int i = 0; i < 3; i++) {
            ObjectNode a = added.addObject();
            a.put("id", i);
            a.put("content", VOCAB.get(i));
            a.put("single_word", false);
            a.put("lstrip", false);
            a.put("rstrip", false);
            a.put("normalized", false);
            a.put("special", true);
        }
        t.putNull("normalizer");
        t.putObject("pre_tokenizer").put("type", "WhitespaceSplit");
        t.putNull("post_processor");
        t.putNull("decoder");
        ObjectNode model = t.putObject("model");
        model.put("type", "WordLevel");
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < VOCAB.size(); i++) vocab.put(VOCAB.get(i), i);
        model.put("unk_token", "<unk>");
        try {
            return JSON.writeValueAsString(t);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Ids of whitespace-separated test words. */
    public static long[] ids(String words) {
        String[] w = words.trim().split("\\s+");
        long[] out = new long[w.length];
        for (int i = 0; i < w.length; i++) {
            int id = VOCAB.indexOf(w[i]);
            if (id < 0) throw new IllegalArgumentException("not in the test vocabulary: " + w[i]);
            out[i] = id;
        }
        return out;
    }
}
