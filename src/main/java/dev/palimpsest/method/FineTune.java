package dev.palimpsest.method;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.bytedeco.pytorch.Tensor;

import dev.palimpsest.data.QaItem;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.train.QaFineTuner;
import dev.palimpsest.train.SupervisedTrainer;
import dev.palimpsest.train.Trainable;

/**
 * Plain fine-tuning on the requests' targets (the new answer of an edit; the refusal of a forget
 * request): the negative log-likelihood of target + EOS given the question, all weights, AdamW.
 * Defaults: 10 epochs, batch 8, lr 3e-4 below 50M parameters else 1e-5, no weight decay.
 */
public final class FineTune implements UpdateMethod {
    @Override
    public String name() {
        return "ft";
    }

    @Override
    public String description() {
        return "fine-tune all weights on the targets (epochs=10, batch=8, lr=3e-4 small / 1e-5 large)";
    }

    @Override
    public Update apply(LanguageModel m, QuestionFormat format, List<KnowledgeRequest> requests, List<QaItem> retain,
            Map<String, String> given, long seed) {
        long t0 = System.nanoTime();
        Settings s = new Settings(name(), given);
        int epochs = s.integer("epochs", 10), batch = s.integer("batch", 8);
        double lr = s.real("lr", QaFineTuner.defaultLr(m, 0));
        Map<String, Object> resolved = s.resolved();
        List<String> names = new ArrayList<>(m.net().parameters().keySet());
        WeightDelta delta = WeightDelta.before(name(), resolved, m.net(), names);
        List<SupervisedTrainer.Example> data = new ArrayList<>();
        for (KnowledgeRequest r : requests)
            data.add(QaFineTuner.example(m.tokenizer(), format, new QaItem("", r.question(), r.target(), List.of(), null, List.of(), null)));
        List<Tensor> params = Trainable.select(m.net(), n -> true);
        SupervisedTrainer.train(m.net(), params, data, new SupervisedTrainer.Settings(epochs, batch, lr, 0.0, 0.1, 1.0, seed),
                m.tokenizer().padId(), "ft", null);
        Trainable.freezeAll(m.net());
        return delta.took((System.nanoTime() - t0) / 1e9);
    }
}
