package dev.palimpsest.bench;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.ModelConfig;
import dev.palimpsest.tensor.Tensors;
import dev.palimpsest.train.MasterAdamW;
import dev.palimpsest.train.Trainable;

/**
 * Throughput of full training steps on a randomly initialised model: forward, next-token cross-entropy
 * (log-softmax in fp32), backward and one AdamW step over every weight (fp32 masters for bf16 weights),
 * the loop every trained unlearning method runs.
 */
public final class TrainBench {
    private TrainBench() {}

    public record Result(long params, String dtype, int batch, int seq, double stepSeconds, double trainTokensPerSecond) {}

    public static Result run(ForwardBench.Shape shape, int batch, int seq, int repeats, ScalarType dtype, PrintWriter log) {
        ModelConfig c = ForwardBench.config(shape);
        CausalLM net = CausalLM.random(c, 1, 0.02, dtype);
        long params = ForwardBench.describe(shape, net, dtype, ", all trained", log);
        Random rnd = new Random(7);
        long[] ids = new long[batch * seq];
        for (int i = 0; i < ids.length; i++) ids[i] = rnd.nextInt(shape.vocab());
        Tensor input = Tensors.longs(ids, batch, seq);
        Tensor next = Tensors.slice(input, 1, 1, seq).reshape(-1, 1);
        List<Tensor> trained = Trainable.select(net, n -> true);
        List<Double> times = new ArrayList<>();
        try (MasterAdamW opt = MasterAdamW.over(trained, 1e-5, 0.0)) {
            for (int r = -1; r < repeats; r++) {
                try (PointerScope s = new PointerScope()) {
                    long t0 = System.nanoTime();
                    opt.zero_grad();
                    Tensor logits = net.forward(input); // fp32 whatever the weights' type
                    Tensor logp = Tensors.slice(logits, 1, 0, seq - 1).reshape(-1, c.vocabSize()).log_softmax(-1);
                    logp.gather(1, next).mean().neg().backward();
                    opt.step();
                    if (r >= 0) times.add((System.nanoTime() - t0) / 1e9);
                }
            }
        } finally {
            Trainable.freezeAll(net);
        }
        double step = ForwardBench.median(times.stream().mapToDouble(Double::doubleValue).toArray());
        log.printf("training step (forward + backward + AdamW): %d x %d tokens in %.3f s (median of %d): %.0f tokens/s%n",
                batch, seq, step, repeats, batch * seq / step);
        return new Result(params, dtype.toString(), batch, seq, step, batch * seq / step);
    }
}
