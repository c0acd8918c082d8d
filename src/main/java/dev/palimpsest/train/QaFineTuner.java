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

    public record Settings(int maxEpochs, int batchSize, double lr, double weightDecay, double targetRouge,
            int loraRank, double loraAlpha, int evalSample, long seed) {}

    public record Result(int epochs, double rouge1, double loss, double seconds) {}

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
        double[] rouge = {Double.NaN};
        int[] epochs = {0};
        double loss = SupervisedTrainer.train(m.net(), params, data,
                new SupervisedTrainer.Settings(s.maxEpochs(), s.batchSize(), s.lr(), s.weightDecay(), 0.05, 1.0, s.seed()),
                tok.padId(), "fine-tuning", (epoch, l) -> {
                    epochs[0] = epoch;
                    List<String> answers = Answers.greedy(m, format, sample.stream().map(QaItem::question).toList(), budget, 32);
                    rouge[0] = Answers.meanRouge1Recall(answers, sample.stream().map(QaItem::answer).toList());
                    return new SupervisedTrainer.Verdict(rouge[0] >= s.targetRouge(), String.format("ROUGE-1 %.3f", rouge[0]));
                });
        if (adapters != null) Lora.mergeAll(m.net());
        Trainable.freezeAll(m.net());
        return new Result(epochs[0], rouge[0], loss, (System.nanoTime() - t0) / 1e9);
    }


    /** question → answer followed by the first EOS token. */
    public static SupervisedTrainer.Example example(Tokenizer tok, QuestionFormat format, String question, String answer) {
        return new SupervisedTrainer.Example(format.promptIds(tok, question), format.answerIds(tok, answer));
    }
}
