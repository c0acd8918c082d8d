package dev.palimpsest.train;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import org.bytedeco.pytorch.Tensor;

import dev.palimpsest.data.QaItem;
import dev.palimpsest.eval.Answers;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.LoraAdapter;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.model.Tokenizer;

/**
 * Teaches a model a question-answer dataset (the "finetune, then unlearn" set-up of TOFU and PISTOL):
 * supervised training on question → answer + EOS, checked after every epoch by the ROUGE-1 recall of
 * greedy answers, stopping once it reaches the target. Full weights, or LoRA adapters merged at the end.
 */
public final class QaFineTuner {
    private QaFineTuner() {}

    /**
     * {@code cycleEpochs}: the length of one warm-up + cosine cycle; {@code maxEpochs}: the budget over all cycles. A
     * cycle that ends below the target starts another while the last one still gained (see {@link #run}).
     */
    public record Settings(int cycleEpochs, int maxEpochs, int batchSize, double lr, double weightDecay, double targetRouge,
            int loraRank, double loraAlpha, int evalSample, long seed) {}

    /** {@code lr}: the peak rate of the last cycle; {@code reached}: whether the target was. */
    public record Result(int epochs, int cycles, double lr, double rouge1, double loss, double seconds, boolean reached) {}

    /**
     * A cycle that gains less ROUGE-1 than this, while its training loss fell by less than a tenth, has plateaued:
     * training stops. (ROUGE-1 on a small set moves in coarse steps, so the loss says whether learning goes on.)
     */
    static final double PLATEAU = 0.01;
    /** A cycle that gains less than this while far from the target ends with the next cycle's rate doubled. */
    static final double SLOW = 0.1;
    /** The rate is raised at most to this multiple of the one asked for. */
    static final double MAX_RAISE = 4;

    /**
     * A learning rate that suits the model: 3e-4 for small models such as the built-in one (1e-3 learns
     * faster but makes it forget much of its pretraining), 1e-5 (full) or 1e-4 (LoRA) for large ones.
     */
    public static double defaultLr(LanguageModel m, int loraRank) {
        if (ModelScale.parameters(m.net()) < ModelScale.SMALL) return 3e-4;
        return loraRank > 0 ? 1e-4 : 1e-5;
    }

    /**
     * Trains on {@code items} (and on {@code replay}, questions the model should keep answering, which
     * guards against forgetting them); stops when the ROUGE-1 recall on {@code items} reaches the target.
     */
    public static Result run(LanguageModel m, QuestionFormat format, List<QaItem> items, List<QaItem> replay, Settings s,
            PrintWriter log) {
        long t0 = System.nanoTime();
        Tokenizer tok = m.tokenizer();
        List<SupervisedTrainer.Example> data = new ArrayList<>();
        for (QaItem q : items) data.add(example(tok, format, q.question(), q.answer()));
        for (QaItem q : replay) data.add(example(tok, format, q.question(), q.answer()));
        int longest = 0;
        for (QaItem q : items) longest = Math.max(longest, tok.encode(format.answer(q.answer())).length);
        List<QaItem> probe = new ArrayList<>(items);
        Collections.shuffle(probe, new Random(s.seed()));
        List<QaItem> sample = probe.subList(0, Math.min(s.evalSample(), probe.size()));
        int budget = longest + 8;

        List<Tensor> params;
        List<LoraAdapter> adapters = null;
        if (s.loraRank() > 0) {
            Trainable.freezeAll(m.net());
            adapters = Lora.attach(m.net(), n -> !n.equals("lm_head"), s.loraRank(), s.loraAlpha(), s.seed());
            params = Lora.parameters(adapters);
        } else {
            params = Trainable.select(m.net(), n -> true);
        }
        double[] rouge = {Double.NaN}, firstLoss = {Double.NaN};
        int[] epochs = {0};
        double loss = Double.NaN, peak = s.lr();
        int cycles = 0;
        // Warm restarts (one optimizer throughout): a cycle that ends below the target and still gained starts another;
        // one that gained little while far from the target ends with the rate doubled (up to MAX_RAISE times the asked).
        try (MasterAdamW opt = MasterAdamW.over(params, peak, s.weightDecay())) {
            while (true) {
                int offset = epochs[0], length = Math.min(s.cycleEpochs(), s.maxEpochs() - offset);
                double before = cycles == 0 ? 0 : rouge[0], lossBefore = loss;
                cycles++;
                loss = SupervisedTrainer.train(m.net(), opt, data,
                        new SupervisedTrainer.Settings(length, s.batchSize(), peak, s.weightDecay(), 0.05, 1.0, s.seed() + cycles - 1),
                        tok.padId(), "fine-tuning", (epoch, l) -> {
                            epochs[0] = offset + epoch;
                            if (epochs[0] == 1) firstLoss[0] = l;
                            List<String> answers = Answers.greedy(m, format, sample.stream().map(QaItem::question).toList(), budget, 32);
                            rouge[0] = Answers.meanRouge1Recall(answers, sample.stream().map(QaItem::answer).toList());
                            return new SupervisedTrainer.Verdict(rouge[0] >= s.targetRouge(), String.format("ROUGE-1 %.3f", rouge[0]));
                        }, null);
                double gain = rouge[0] - before, lossFell = 1 - loss / (cycles == 1 ? firstLoss[0] : lossBefore);
                if (rouge[0] >= s.targetRouge() || epochs[0] >= s.maxEpochs() || (gain < PLATEAU && lossFell < 0.1)) break;
                if (gain < SLOW && s.targetRouge() - rouge[0] > SLOW && peak * 2 <= MAX_RAISE * s.lr() * (1 + 1e-9)) peak *= 2;
                log.printf("fine-tuning: ROUGE-1 %.3f after %d epochs, below the target %.2f and still learning (ROUGE-1 %+.3f, "
                        + "loss %.3f, %.0f %% lower, this cycle): another cycle at peak lr %.2g%n", rouge[0], epochs[0], s.targetRouge(), gain,
                        loss, 100 * lossFell, peak);
                log.flush();
            }
        }
        if (adapters != null) Lora.mergeAll(m.net());
        Trainable.freezeAll(m.net());
        return new Result(epochs[0], cycles, peak, rouge[0], loss, (System.nanoTime() - t0) / 1e9, rouge[0] >= s.targetRouge());
    }

    /** question → answer followed by the first EOS token. */
    public static SupervisedTrainer.Example example(Tokenizer tok, QuestionFormat format, String question, String answer) {
        return new SupervisedTrainer.Example(format.promptIds(tok, question), format.answerIds(tok, answer));
    }
}
