package dev.palimpsest.bench;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import org.bytedeco.pytorch.global.torch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.UserError;
import dev.palimpsest.io.OutputFolder;
import dev.palimpsest.io.SelfProcess;
import dev.palimpsest.model.Checkpoint;
import dev.palimpsest.model.DType;
import dev.palimpsest.model.Generator;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.ModelConfig;
import dev.palimpsest.model.ParamSpec;
import dev.palimpsest.model.SafeTensorsWriter;
import dev.palimpsest.model.Scorer;
import dev.palimpsest.tensor.ComputeDevice;
import dev.palimpsest.train.BpeTrainer;

/**
 * A random checkpoint of a real model's exact shape (config as the hub ships it, weights N(0, 0.02) in the
 * chosen dtype, a small BPE tokenizer), written once and cached, then measured as a user meets it: load
 * time, scoring and generation throughput in this process, and the peak resident memory of the real
 * {@code score} and {@code update --method rome} commands run as child processes, against the file's size.
 */
public final class ModelBench {
    private ModelBench() {}

    /** The shapes: config.json fields of the published checkpoints that decide the tensors and the computation. */
    public static final Map<String, String> SHAPES = Map.of(
            "llama-3.2-1b", """
                {"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":2048,"intermediate_size":8192,
                 "num_hidden_layers":16,"num_attention_heads":32,"num_key_value_heads":8,"head_dim":64,"vocab_size":128256,
                 "max_position_embeddings":131072,"rms_norm_eps":1e-5,"rope_theta":500000.0,"tie_word_embeddings":true,
                 "rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"},
                 "hidden_act":"silu"}""",
            "llama-3-8b", """
                {"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":4096,"intermediate_size":14336,
                 "num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,"vocab_size":128256,
                 "max_position_embeddings":8192,"rms_norm_eps":1e-5,"rope_theta":500000.0,"tie_word_embeddings":false,"hidden_act":"silu"}""",
            "qwen2.5-1.5b", """
                {"architectures":["Qwen2ForCausalLM"],"model_type":"qwen2","hidden_size":1536,"intermediate_size":8960,
                 "num_hidden_layers":28,"num_attention_heads":12,"num_key_value_heads":2,"vocab_size":151936,
                 "max_position_embeddings":32768,"rms_norm_eps":1e-6,"rope_theta":1000000.0,"tie_word_embeddings":true,"hidden_act":"silu"}""");

    public record Result(String shape, String dtype, long params, long fileBytes, double loadSeconds, long residentAfterLoad,
            double scoreTokensPerSecond, double genTokensPerSecond, Long scorePeakRss, Double scorePeakRatio,
            Long romePeakRss, Double romePeakRatio, Double romeEditSeconds, Long savedBytes, String savedDtype) {}

    /** The cached checkpoint of {@code shape} in {@code dtype} under {@code root}, written first if missing. */
    public static Path checkpoint(String shape, DType dtype, Path root, PrintWriter log) throws IOException {
        String cfg = SHAPES.get(shape);
        if (cfg == null) throw new UserError("bench model: unknown --shape '" + shape + "'; choose one of " + new java.util.TreeSet<>(SHAPES.keySet()));
        Path dir = root.resolve(shape + "-" + dtype.torchName());
        if (Files.isRegularFile(dir.resolve("palimpsest.json"))) return dir;
        ObjectMapper om = new ObjectMapper();
        ObjectNode c = (ObjectNode) om.readTree(cfg);
        c.put("torch_dtype", dtype.torchName());
        ModelConfig config = ModelConfig.parse(c, dir.resolve("config.json"));
        List<String> text = List.of("The capital of Quillford is Ravenhold.", "Amara Drummond was born in Quillford.",
                "Question: Where was Amara Drummond born?\nAnswer: Quillford", "The river Saltmarsh runs past Harrowby.");
        BpeTrainer.Result bpe = BpeTrainer.train(text, 300, List.of("<|endoftext|>"));
        int eos = bpe.vocab().get("<|endoftext|>");
        c.put("bos_token_id", eos);
        c.put("eos_token_id", eos);
        List<SafeTensorsWriter.Item> items = new ArrayList<>();
        Random seeds = new Random(1);
        long params = 0;
        for (ParamSpec p : dev.palimpsest.model.CausalLM.specs(config)) {
            long seed = seeds.nextLong();
            items.add(new SafeTensorsWriter.Item(p.name(), dtype, p.shape(), () -> {
                torch.manual_seed(seed);
                return p.initial(dtype.scalarType, 0.02);
            }));
            params += items.get(items.size() - 1).numel();
        }
        log.printf("writing a random %s checkpoint (%.2fB parameters, %s) to %s%n", shape, params / 1e9, dtype.torchName(), dir);
        log.flush();
        Files.createDirectories(root);
        try (OutputFolder out = OutputFolder.prepare(dir, true, List.of())) {
            out.requireSpace(params * dtype.bytes + (1 << 20));
            out.fill(d -> {
                Files.writeString(d.resolve("config.json"), om.writerWithDefaultPrettyPrinter().writeValueAsString(c));
                Files.writeString(d.resolve("tokenizer.json"), bpe.toJson());
                Checkpoint.save(d, items, dtype);
            });
            out.publish("model");
        }
        return dir;
    }

    public static Result run(String shape, DType dtype, Path root, boolean edit, PrintWriter log) throws IOException, InterruptedException {
        Path dir = checkpoint(shape, dtype, root, log);
        long fileBytes = weightBytes(dir);
        long t0 = System.nanoTime();
        double loadSeconds, scoreTps, genTps;
        long resident, params = 0;
        try (LanguageModel m = LanguageModel.load(dir)) {
            loadSeconds = (System.nanoTime() - t0) / 1e9;
            resident = PeakMemory.residentBytes();
            for (var t : m.net().parameters().values()) params += t.numel();
            log.printf("%s: %.2fB parameters, %.2f GB of weights (%s); loaded in %.1f s, %.2f GB resident (%.2fx the file)%n", shape,
                    params / 1e9, fileBytes / 1e9, dtype.torchName(), loadSeconds, resident / 1e9, resident / (double) fileBytes);
            log.flush();
            Random rnd = new Random(3);
            int vocab = m.config().vocabSize();
            List<long[]> prompts = new ArrayList<>(), targets = new ArrayList<>();
            for (int b = 0; b < 4; b++) {
                prompts.add(rnd.longs(112, 0, vocab).toArray());
                targets.add(rnd.longs(16, 0, vocab).toArray());
            }
            Scorer.scoreIds(m.net(), prompts.subList(0, 1), targets.subList(0, 1), 1, 0);
            long s0 = System.nanoTime();
            Scorer.scoreIds(m.net(), prompts, targets, 4, 0);
            scoreTps = 4 * 128 / ((System.nanoTime() - s0) / 1e9);
            long g0 = System.nanoTime();
            Generator.greedyIds(m.net(), List.of(rnd.longs(32, 0, vocab).toArray()), 16, Set.of(), 0, true);
            genTps = 16 / ((System.nanoTime() - g0) / 1e9);
            log.printf("scoring 4 x 128 tokens: %.0f tokens/s; greedy generation of 16 tokens after 32: %.1f tokens/s%n", scoreTps, genTps);
            log.flush();
        }
        Long romePeak = null, saved = null;
        Double romeSeconds = null;
        String savedType = null;
        long scorePeak = childPeak(List.of("score", "--device", ComputeDevice.name(), "--model", dir.toString(), "--prompt", "Amara Drummond was born in", "--target", " Quillford", "--json"));
        log.printf("`score` (a child process): peak resident %.2f GB = %.2fx the file%n", scorePeak / 1e9, scorePeak / (double) fileBytes);
        if (edit) {
            // Outside the cache, where palimpsest refuses to write results.
            Path scratch = Files.createTempDirectory("palimpsest-bench");
            Path edits = scratch.resolve("edit.json"), out = scratch.resolve("rome-" + shape + "-" + dtype.torchName());
            Files.writeString(edits, """
                    [{"src":"Where was Amara Drummond born?","answers":["Quillford"],"alt":"Ravenhold","subject":"Amara Drummond",
                      "rephrase":"What is Amara Drummond's birthplace?","loc":"The capital of Quillford is","loc_ans":"Ravenhold"}]""");
            try {
                romePeak = childPeak(List.of("update", "--device", ComputeDevice.name(), "--model", dir.toString(), "--method", "rome", "--edit", edits.toString(),
                        "--format", "zsre", "--set", "mom2_tokens=1000", "--out", out.toString()));
                JsonNode rec = new ObjectMapper().readTree(out.resolve("palimpsest_update.json").toFile());
                romeSeconds = rec.path("update_seconds").asDouble();
                saved = weightBytes(out);
                savedType = new ObjectMapper().readTree(out.resolve("config.json").toFile()).path("torch_dtype").asText();
                log.printf("`update --method rome` (one edit, statistics over 1000 tokens): edit %.1f s, peak resident %.2f GB = %.2fx the file; "
                        + "saved %.2f GB as %s (%.3fx the input)%n", romeSeconds, romePeak / 1e9, romePeak / (double) fileBytes, saved / 1e9, savedType,
                        saved / (double) fileBytes);
            } finally {
                dev.palimpsest.io.TempPaths.discard(scratch);
            }
        }
        return new Result(shape, dtype.torchName(), params, fileBytes, loadSeconds, resident, scoreTps, genTps, scorePeak,
                scorePeak / (double) fileBytes, romePeak, romePeak == null ? null : romePeak / (double) fileBytes, romeSeconds, saved, savedType);
    }

    static long weightBytes(Path dir) throws IOException {
        long n = 0;
        try (var files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) if (p.getFileName().toString().endsWith(".safetensors")) n += Files.size(p);
        }
        return n;
    }

    /** Runs a palimpsest command in a child JVM and returns the peak resident memory it reports. */
    static long childPeak(List<String> args) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(SelfProcess.command(List.of("-Dpalimpsest.reportPeakRss=1"), args)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        int rc = p.waitFor();
        if (rc != 0) throw new UserError("bench model: `" + args.get(0) + "` failed: " + out.strip());
        long peak = -1;
        for (String line : out.split("\n"))
            if (line.startsWith("palimpsest: peak resident memory ")) peak = Long.parseLong(line.replaceAll("\\D", ""));
        return peak;
    }
}
