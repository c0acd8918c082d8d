package dev.palimpsest.method;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

import me.tongfei.progressbar.ProgressBar;

import dev.palimpsest.UserError;
import dev.palimpsest.io.Progress;
import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.tensor.Tensors;
import dev.palimpsest.train.GradClip;
import dev.palimpsest.train.Lora;
import dev.palimpsest.train.MasterAdamW;
import dev.palimpsest.train.Trainable;

/**
 * The loop every fine-tuning update runs (the unlearning baselines, joint fine-tuning): all weights or LoRA
 * adapters, AdamW with fp32 masters at the {@link Rate}'s schedule (constant by default), one loss per planned step, a stop with one clear line
 * when the loss is not finite, clipping at norm 1, then the adapters merged (or kept) and the weights frozen.
 * Whatever goes wrong, the model is left as it was. Methods plan their steps (which examples each batch holds)
 * before it starts, so the loop owns no randomness and a method's batches are the same for the same seed.
 */
public final class TrainingLoop {
    private TrainingLoop() {}

    /** One optimiser step: the epoch it belongs to (for the progress line) and the method's batch. */
    public record Step<B>(int epoch, B batch) {}

    /**
     * The optimiser's rate and decay. The rate of step i (from 0) is lr × i / warmup during the warm-up, then lr
     * ({@code linear} false) or falling linearly to 0 at the last step ({@code linear} true): transformers'
     * constant_with_warmup and linear schedules, which open-unlearning's runs use.
     */
    public record Rate(double lr, double weightDecay, int warmupSteps, boolean linear) {
        double at(int step, int total) {
            if (step < warmupSteps) return lr * step / Math.max(1, warmupSteps);
            if (!linear) return lr;
            return lr * Math.max(0, (double) (total - step) / Math.max(1, total - warmupSteps));
        }

        boolean varies() {
            return warmupSteps > 0 || linear;
        }
    }

    /**
     * Runs the steps and returns how to undo them.
     * {@code mergeLora}: fold trained adapters into the weights, else keep them attached (frozen) for export.
     */
    public static <B> Undo run(String method, LanguageModel m, int loraRank, boolean mergeLora, Rate rate, long seed,
            List<Step<B>> steps, Function<B, Tensor> loss) {
        CausalLM net = m.net();
        double lr = rate.lr();
        WeightDelta delta = WeightDelta.before(net, new ArrayList<>(net.parameters().keySet()));
        List<Tensor> params = Trainable.allOrLora(net, loraRank, seed);
        MasterAdamW opt = MasterAdamW.over(params, lr, rate.weightDecay());
        try (opt; ProgressBar bar = Progress.bar(method, steps.size())) {
            int i = 0;
            for (Step<B> step : steps) {
                double value;
                if (rate.varies()) opt.setLr(rate.at(i, steps.size()));
                i++;
                try (PointerScope scope = new PointerScope()) {
                    opt.zero_grad();
                    Tensor l = loss.apply(step.batch());
                    value = Tensors.item(l);
                    if (!Double.isFinite(value))
                        throw new UserError(method + ": the loss became " + value + " (lr " + lr + "); nothing was written");
                    l.backward();
                    GradClip.clipNorm(params, 1.0);
                    opt.step();
                }
                bar.step();
                bar.setExtraMessage(String.format(" epoch %d loss %.3f", step.epoch() + 1, value));
            }
        } catch (RuntimeException e) {
            Lora.detachAll(net);
            Trainable.freezeAll(net);
            delta.remove();
            throw e;
        }
        if (loraRank > 0 && mergeLora) Lora.mergeAll(net);
        Trainable.freezeAll(net);
        if (loraRank > 0 && !mergeLora) Lora.freezeAll(net);
        return delta;
    }
}
