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
