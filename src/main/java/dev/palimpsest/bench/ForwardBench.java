package dev.palimpsest.bench;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.Family;
import dev.palimpsest.model.ForwardInput;
import dev.palimpsest.model.Generator;
import dev.palimpsest.model.ModelConfig;
import dev.palimpsest.model.ParamSpec;
import dev.palimpsest.tensor.Tensors;

/**
 * Throughput of the forward pass on a randomly initialised model of a chosen shape (no files), set
 * against the fp32 GEMM rate libtorch reaches on this machine in the same run.
 */
public final class ForwardBench {
    private ForwardBench() {}

    public record Shape(Family family, int layers, int hidden, int intermediate, int heads, int kvHeads, int vocab) {}

    public record Load(int batch, int seq, int genBatch, int genPrompt, int genTokens, int repeats) {}

    /** Medians over the repeats; each ratio is the median of per-pass ratios to the GEMM sample taken just before. */
    public record Result(long params, double gemmGflops, double scoreSeconds, double scoreTokensPerSecond,
            double scoreGflops, double scoreRatio, double genSeconds, double genTokensPerSecond, double genGflops,
            double genRatio) {}

    public static ModelConfig config(Shape s) {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("vocab_size", s.vocab());
        if (s.family() == Family.GPT2) {
            c.putArray("architectures").add("GPT2LMHeadModel");
            c.put("n_embd", s.hidden());
            c.put("n_layer", s.layers());
            c.put("n_head", s.heads());
            c.put("n_inner", s.intermediate());
            c.put("n_positions", 4096);
        } else {
            c.putArray("architectures").add("LlamaForCausalLM");
            c.put("hidden_size", s.hidden());
            c.put("intermediate_size", s.intermediate());
            c.put("num_hidden_layers", s.layers());
            c.put("num_attention_heads", s.heads());
            c.put("num_key_value_heads", s.kvHeads());
            c.put("max_position_embeddings", 4096);
        }
        return ModelConfig.parse(c, java.nio.file.Path.of("bench"));
    }

    /**
     * One sample of the fp32 GEMM rate: the best of three 2048×2048 products, in GFLOPS. The benchmark
     * takes one sample before every timed forward pass, so both see the same machine (clock boost and
     * neighbours vary from second to second here) and their ratio is stable.
     */
    public static double gemmSample() {
        int n = 2048;
        double best = 0;
        try (PointerScope s = new PointerScope()) {
            Tensor a = Tensors.randn(ScalarType.Float, n, n), b = Tensors.randn(ScalarType.Float, n, n);
            a.matmul(b);
            for (int r = 0; r < 3; r++) {
                long t0 = System.nanoTime();
                a.matmul(b);
                best = Math.max(best, 2.0 * n * n * n / ((System.nanoTime() - t0) / 1e9) / 1e9);
            }
        }
        return best;
    }

    /** FLOPs of a causal forward pass over {@code tokens} new tokens that see {@code context} tokens each on average. */
    static double forwardFlops(ModelConfig c, long matmulParams, double tokens, double avgContext) {
        double attention = 2.0 * 2.0 * c.numLayers() * c.numHeads() * c.headDim() * avgContext;
        return tokens * (2.0 * matmulParams + attention);
    }

    /** Parameters that take part in matrix products per token: every 2-D weight but the embedding table(s). */
    static long matmulParams(ModelConfig c) {
        long n = 0;
        for (ParamSpec p : CausalLM.specs(c)) {
            if (p.shape().length != 2) continue;
            if (p.name().endsWith("embed_tokens.weight") || p.name().endsWith("wte.weight") || p.name().endsWith("wpe.weight"))
                continue;
            n += p.shape()[0] * p.shape()[1];
        }
        if (c.tieEmbeddings()) n += (long) c.vocabSize() * c.hiddenSize();
        return n;
    }

    public static Result run(Shape shape, Load load, ScalarType dtype, PrintWriter log) {
        ModelConfig c = config(shape);
        CausalLM net = CausalLM.random(c, 1, 0.02, dtype);
        long params = describe(shape, net, dtype, "", log);
        String wait = System.getenv("OMP_WAIT_POLICY");
        log.printf("threads: %d, OMP_WAIT_POLICY=%s%n", torch.get_num_threads(), wait);
        if (!"PASSIVE".equalsIgnoreCase(wait))
            log.println("warning: without OMP_WAIT_POLICY=PASSIVE, OpenMP threads spin and slow OpenBLAS down (the launcher sets it)");
        Random rnd = new Random(7);
        long[] ids = new long[load.batch() * load.seq()];
        for (int i = 0; i < ids.length; i++) ids[i] = rnd.nextInt(shape.vocab());
        long mp = matmulParams(c);
        double scoreFlops = forwardFlops(c, mp, (double) load.batch() * load.seq(), (load.seq() + 1) / 2.0);
        double[] times = new double[load.repeats()], gemms = new double[load.repeats()], ratios = new double[load.repeats()];
        try (NoGradGuard g = new NoGradGuard()) {
            for (int r = -1; r < load.repeats(); r++) {
                double gemmNow = gemmSample();
                try (PointerScope s = new PointerScope()) {
                    long t0 = System.nanoTime();
                    // Every position's logits in the weights' type, as the peer's autocast pass leaves them.
                    net.headLogits(net.hidden(ForwardInput.of(Tensors.longs(ids, load.batch(), load.seq())), null));
                    if (r >= 0) {
                        times[r] = (System.nanoTime() - t0) / 1e9;
                        gemms[r] = gemmNow;
                        ratios[r] = scoreFlops / times[r] / 1e9 / gemmNow;
                    }
                }
            }
        }
        double gemm = median(gemms);
        log.printf("fp32 GEMM (libtorch, 2048x2048, sampled before each pass): median %.1f GFLOPS (range %.0f-%.0f)%n",
                gemm, Arrays.stream(gemms).min().orElse(0), Arrays.stream(gemms).max().orElse(0));
        double score = median(times);
        double scoreGflops = scoreFlops / score / 1e9;
        double scoreRatio = median(ratios);
        log.printf("scoring forward: %d x %d tokens in %.3f s (median of %d): %.0f tokens/s, %.1f GFLOPS = %.0f%% of GEMM%n",
                load.batch(), load.seq(), score, load.repeats(), load.batch() * load.seq() / score, scoreGflops,
                100 * scoreRatio);

        List<long[]> prompts = new ArrayList<>();
        for (int b = 0; b < load.genBatch(); b++) {
            long[] p = new long[load.genPrompt()];
            for (int i = 0; i < p.length; i++) p[i] = rnd.nextInt(shape.vocab());
            prompts.add(p);
        }
        double newTokens = (double) load.genBatch() * load.genTokens();
        double genFlops = forwardFlops(c, mp, (double) load.genBatch() * load.genPrompt(), (load.genPrompt() + 1) / 2.0)
                + forwardFlops(c, mp, newTokens, load.genPrompt() + load.genTokens() / 2.0);
        int genRepeats = Math.max(1, load.repeats() / 2);
        double[] gTimes = new double[genRepeats], gRatios = new double[genRepeats];
        for (int r = -1; r < genRepeats; r++) {
            double gemmNow = gemmSample();
            long t0 = System.nanoTime();
            Generator.greedyIds(net, prompts, r < 0 ? 2 : load.genTokens(), Set.of(), 0, true);
            if (r >= 0) {
                gTimes[r] = (System.nanoTime() - t0) / 1e9;
                gRatios[r] = genFlops / gTimes[r] / 1e9 / gemmNow;
            }
        }
        double gen = median(gTimes);
        double genGflops = genFlops / gen / 1e9;
        double genRatio = median(gRatios);
        log.printf("greedy generation: %d prompts x %d tokens + %d new in %.3f s: %.1f new tokens/s, %.1f GFLOPS = %.0f%% of GEMM%n",
                load.genBatch(), load.genPrompt(), load.genTokens(), gen, newTokens / gen, genGflops, 100 * genRatio);
        return new Result(params, gemm, score, load.batch() * load.seq() / score, scoreGflops, scoreRatio, gen,
                newTokens / gen, genGflops, genRatio);
    }

    /** Prints the random model's shape and size; returns its parameter count. */
    static long describe(Shape shape, CausalLM net, ScalarType dtype, String note, PrintWriter log) {
        long params = 0;
        for (Tensor t : net.parameters().values()) params += t.numel();
        log.printf("model: %s, %d layers, width %d, MLP %d, heads %d/%d, vocab %d: %.1fM parameters in %s%s%n",
                shape.family(), shape.layers(), shape.hidden(), shape.intermediate(), shape.heads(), shape.kvHeads(),
                shape.vocab(), params / 1e6, dtype, note);
        return params;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
