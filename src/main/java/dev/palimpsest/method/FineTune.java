package dev.palimpsest.method;

import dev.palimpsest.request.KnowledgeRequest;
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
 * Fine-tuning on the requests' targets (the new answer of an edit; the refusal of a forget request):
 * the negative log-likelihood of target + EOS given the question, AdamW. {@code ft}: all weights,
 * 10 epochs, batch 8, lr 3e-4 below 50M parameters else 1e-5. {@code ft-l}: the constrained
 * single-layer variant of the editing literature (FT-L): only the MLP down-projection of one layer
 * ({@code layer}, default the middle one) changes, and after every step each weight is projected back
 * to within {@code norm_bound} (L∞, default 5e-3) of its original value; lr 1e-3.
 */
public final class FineTune implements UpdateMethod {
    private final boolean constrained;

    public FineTune() {
        this(false);
    }

    private FineTune(boolean constrained) {
        this.constrained = constrained;
    }

    /** The constrained single-layer variant, FT-L. */
    public static FineTune constrained() {
        return new FineTune(true);
    }

    @Override
    public String name() {
        return constrained ? "ft-l" : "ft";
    }

    @Override
    public String description() {
        return constrained ? "fine-tune one MLP down-projection within an L-infinity bound (layer=middle, norm_bound=5e-3, lr=1e-3, epochs=10)"
                : "fine-tune all weights on the targets (epochs=10, batch=8, lr=3e-4 small / 1e-5 large)";
    }

    @Override
    public List<Setting> settings() {
        List<Setting> s = new ArrayList<>(List.of(Setting.atLeast("epochs", 1), Setting.atLeast("batch", 1), Setting.learningRate("lr")));
        if (constrained) s.addAll(List.of(Setting.atLeast("layer", 0), Setting.positive("norm_bound")));
        return s;
    }

    @Override
    public Update apply(LanguageModel m, QuestionFormat format, List<KnowledgeRequest> requests, List<QaItem> retain,
            Map<String, String> given, long seed) {
        long t0 = System.nanoTime();
        Settings s = new Settings(this, given);
        int epochs = s.integer("epochs", 10), batch = s.integer("batch", 8);
        double lr = s.real("lr", constrained ? 1e-3 : QaFineTuner.defaultLr(m, 0));
        int layer = constrained ? s.integer("layer", m.net().numLayers() / 2) : -1;
        double bound = constrained ? s.real("norm_bound", 5e-3) : 0;
        Map<String, Object> resolved = s.resolved();
        if (constrained && (layer < 0 || layer >= m.net().numLayers()))
            throw new dev.palimpsest.UserError("ft-l: layer " + layer + " is not between 0 and " + (m.net().numLayers() - 1));
        String target = constrained ? m.net().downProjection(layer) + ".weight" : null;
        List<String> names = constrained ? List.of(target) : new ArrayList<>(m.net().parameters().keySet());
        WeightDelta delta = WeightDelta.before(name(), resolved, m.net(), names);
        List<SupervisedTrainer.Example> data = new ArrayList<>();
        for (KnowledgeRequest r : requests)
            data.add(QaFineTuner.example(m.tokenizer(), format, r.question(), r.target()));
        List<Tensor> params = Trainable.select(m.net(), n -> target == null || n.equals(target));
        Runnable project = null;
        if (constrained) {
            Tensor w = m.net().parameter(target), original = w.detach().clone();
            original.retainReference();
            project = () -> {
                try (org.bytedeco.javacpp.PointerScope ps = new org.bytedeco.javacpp.PointerScope();
                        org.bytedeco.pytorch.NoGradGuard g = new org.bytedeco.pytorch.NoGradGuard()) {
                    Tensor d = w.sub(original).clamp(new org.bytedeco.pytorch.ScalarOptional(dev.palimpsest.tensor.Tensors.scalar(-bound)),
                            new org.bytedeco.pytorch.ScalarOptional(dev.palimpsest.tensor.Tensors.scalar(bound)));
                    w.copy_(original.add(d));
                }
            };
        }
        SupervisedTrainer.train(m.net(), params, data, new SupervisedTrainer.Settings(epochs, batch, lr, 0.0, 0.1, 1.0, seed),
                m.tokenizer().padId(), name(), null, project);
        Trainable.freezeAll(m.net());
        return delta.took((System.nanoTime() - t0) / 1e9);
    }
}
