package dev.palimpsest.train;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

import dev.palimpsest.UserError;
import dev.palimpsest.io.Progress;
import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.Scorer;
import dev.palimpsest.tensor.Tensors;
import me.tongfei.progressbar.ProgressBar;

/**
 * Teacher-forced training on (prompt, target) token pairs: the loss is the mean negative
 * log-likelihood of the target tokens of a batch. AdamW, linear warm-up then cosine decay to a tenth
 * of the peak rate, global-norm clipping, a seeded shuffle per epoch, one PointerScope per step.
 * A batch runs as micro-batches of at most {@link #MICRO} rows of similar length, their gradients summed
 * into the batch's: the same loss and gradient (up to rounding) with far less padding (a random batch of
 * the default model's data pads to 1.66x its real tokens; micro-batches of 8 sorted by length to 1.14x).
 */
public final class SupervisedTrainer {
    private SupervisedTrainer() {}

    public record Example(long[] prompt, long[] target) {}

    public record Settings(int epochs, int batchSize, double lr, double weightDecay, double warmupFraction,
            double clipNorm, long seed) {}

    /** Whether to stop after an epoch, and a note for the progress bar (e.g. a score). */
    public record Verdict(boolean stop, String note) {
        public static final Verdict GO_ON = new Verdict(false, "");
    }

    /** Called after each epoch with its mean loss. */
    public interface EpochEnd {
        Verdict after(int epoch, double meanLoss);
    }

    /** Rows per micro-batch. */
    static final int MICRO = 8;

    /** Trains {@code params} of {@code net}; returns the last epoch's mean loss. */
    public static double train(CausalLM net, List<Tensor> params, List<Example> data, Settings s, long pad, String task,
            EpochEnd epochEnd) {
        return train(net, params, data, s, pad, task, epochEnd, null);
    }

    /** As above; {@code afterStep} runs after every optimizer step (e.g. to project weights back into a bound). */
    public static double train(CausalLM net, List<Tensor> params, List<Example> data, Settings s, long pad, String task,
            EpochEnd epochEnd, Runnable afterStep) {
        try (MasterAdamW opt = MasterAdamW.over(params, s.lr(), s.weightDecay())) {
            return train(net, opt, data, s, pad, task, epochEnd, afterStep);
        }
    }

    /** As above with the caller's optimizer (the caller closes it), e.g. to read the fp32 masters of a bf16 model afterwards; {@code s.lr()} is the peak rate. */
    public static double train(CausalLM net, MasterAdamW opt, List<Example> data, Settings s, long pad, String task,
            EpochEnd epochEnd, Runnable afterStep) {
        if (data.isEmpty()) throw new UserError("nothing to train on");
        List<Tensor> params = opt.parameters();
        int stepsPerEpoch = (data.size() + s.batchSize() - 1) / s.batchSize();
        long total = (long) stepsPerEpoch * s.epochs();
        long warmup = Math.max(1, Math.round(total * s.warmupFraction()));
        Random rnd = new Random(s.seed());
        List<Example> order = new ArrayList<>(data);
        long step = 0;
        double epochLoss = Double.NaN;
        String lastNote = "";
        try (ProgressBar bar = Progress.bar(task, total)) {
            for (int epoch = 1; epoch <= s.epochs(); epoch++) {
                Collections.shuffle(order, rnd);
                double sum = 0;
                int n = 0;
                String note = lastNote;
                for (int start = 0; start < order.size(); start += s.batchSize()) {
                    opt.setLr(lr(s.lr(), step, warmup, total));
                    List<Example> batch = order.subList(start, Math.min(order.size(), start + s.batchSize()));
                    double loss = step(net, params, opt, batch, s.clipNorm(), pad);
                    if (afterStep != null) afterStep.run();
                    if (!Double.isFinite(loss))
                        throw new UserError(task + ": the loss became " + loss + " at step " + (step + 1)
                                + "; lower the learning rate (now " + s.lr() + ")");
                    sum += loss;
                    n++;
                    step++;
                    bar.step();
                    bar.setExtraMessage(String.format(" epoch %d loss %.3f%s", epoch, loss, note));
                }
                epochLoss = sum / n;
                Verdict v = epochEnd == null ? Verdict.GO_ON : epochEnd.after(epoch, epochLoss);
                lastNote = v.note().isEmpty() ? "" : ", " + v.note();
                bar.setExtraMessage(String.format(" epoch %d loss %.3f%s", epoch, epochLoss, lastNote));
                if (v.stop()) break;
            }
        }
        return epochLoss;
    }

    private static double step(CausalLM net, List<Tensor> params, MasterAdamW opt, List<Example> batch, double clip,
            long pad) {
        try (PointerScope scope = new PointerScope()) {
            opt.zero_grad();
            double loss = backward(net, batch, pad);
            if (!Double.isFinite(loss)) return loss;
            if (clip > 0) GradClip.clipNorm(params, clip);
            opt.step();
            return loss;
        }
    }

    /**
     * The batch's loss, the mean NLL over all its target tokens, with its gradient added to the weights' own; run as
     * micro-batches, each adding its share. Stops at the first micro-batch whose loss is not finite and returns that.
     */
    static double backward(CausalLM net, List<Example> batch, long pad) {
        long tokens = batch.stream().mapToLong(e -> e.target().length).sum();
        double sum = 0;
        for (List<Example> micro : microBatches(batch)) {
            try (PointerScope scope = new PointerScope()) {
                List<long[]> prompts = new ArrayList<>(), targets = new ArrayList<>();
                for (Example e : micro) {
                    prompts.add(e.prompt());
                    targets.add(e.target());
                }
                Tensor loss = Scorer.targetLogprobs(net, prompts, targets, pad).sum().neg().div(Tensors.scalar((double) tokens));
                double value = Tensors.item(loss);
                if (!Double.isFinite(value)) return value;
                sum += value;
                loss.backward();
            }
        }
        return sum;
    }

    /** The batch sorted by length and cut into runs of at most {@link #MICRO} rows, so that each pads only to its own longest. */
    static List<List<Example>> microBatches(List<Example> batch) {
        if (batch.size() <= MICRO) return List.of(batch);
        List<Example> sorted = new ArrayList<>(batch);
        sorted.sort(java.util.Comparator.comparingInt(e -> e.prompt().length + e.target().length));
        List<List<Example>> out = new ArrayList<>();
        for (int from = 0; from < sorted.size(); from += MICRO) out.add(sorted.subList(from, Math.min(sorted.size(), from + MICRO)));
        return out;
    }

    /** Linear warm-up to {@code peak}, then cosine decay to a tenth of it. */
    static double lr(double peak, long step, long warmup, long total) {
        if (step < warmup) return peak * (step + 1) / warmup;
        double progress = (double) (step - warmup) / Math.max(1, total - warmup);
        return peak * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress))));
    }
}
