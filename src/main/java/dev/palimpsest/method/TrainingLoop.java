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
 * adapters, AdamW with fp32 masters at a constant rate, one loss per planned step, a stop with one clear line
 * when the loss is not finite, clipping at norm 1, then the adapters merged (or kept) and the weights frozen.
 * Whatever goes wrong, the model is left as it was. Methods plan their steps (which examples each batch holds)
 * before it starts, so the loop owns no randomness and a method's batches are the same for the same seed.
 */
public final class TrainingLoop {
    private TrainingLoop() {}

    /** One optimiser step: the epoch it belongs to (for the progress line) and the method's batch. */
    public record Step<B>(int epoch, B batch) {}

    /**
     * Runs the steps and returns how to undo them.
     * {@code mergeLora}: fold trained adapters into the weights, else keep them attached (frozen) for export.
     */
    public static <B> Undo run(String method, LanguageModel m, int loraRank, boolean mergeLora, double lr, long seed,
            List<Step<B>> steps, Function<B, Tensor> loss) {
        CausalLM net = m.net();
        WeightDelta delta = WeightDelta.before(net, new ArrayList<>(net.parameters().keySet()));
        List<Tensor> params = Trainable.allOrLora(net, loraRank, seed);
        MasterAdamW opt = MasterAdamW.over(params, lr, 0.0);
        try (opt; ProgressBar bar = Progress.bar(method, steps.size())) {
            for (Step<B> step : steps) {
                double value;
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
