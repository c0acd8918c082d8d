package dev.palimpsest.method;

import dev.palimpsest.request.KnowledgeRequest;
import java.util.ArrayList;
import java.util.List;

import org.bytedeco.pytorch.Tensor;

import dev.palimpsest.model.LanguageModel;
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
        return constrained ? "fine-tune one MLP down-projection on the targets within an L-infinity bound of its weights (FT-L)"
                : "fine-tune all weights on the targets (new answers, refusals)";
    }

    @Override
    public List<Setting> settings() {
        List<Setting> s = new ArrayList<>(List.of(Setting.atLeast("epochs", 1).is(10, "passes over the requests"),
                Setting.atLeast("batch", 1).is(8, "requests per step"),
                constrained ? Setting.learningRate("lr").is(1e-3, "AdamW rate")
                        : Setting.learningRate("lr").rule("3e-4 below 50M parameters, else 1e-5", "AdamW rate")));
        if (constrained) s.addAll(List.of(Setting.atLeast("layer", 0).rule("the middle layer", "the MLP down-projection trained"),
                Setting.positive("norm_bound").is(5e-3, "each weight stays within ± this of its original value")));
        return s;
    }

    @Override
    public Undo update(UpdateRun run) {
        LanguageModel m = run.model();
        Settings s = run.settings();
        int epochs = s.integer("epochs"), batch = s.integer("batch");
        double lr = constrained ? s.real("lr") : s.real("lr", QaFineTuner.defaultLr(m, 0));
        int layer = constrained ? s.integer("layer", m.net().numLayers() / 2) : -1;
        double bound = constrained ? s.real("norm_bound") : 0;
        if (constrained && (layer < 0 || layer >= m.net().numLayers()))
            throw new dev.palimpsest.UserError("ft-l: layer " + layer + " is not between 0 and " + (m.net().numLayers() - 1));
        String target = constrained ? m.net().downProjection(layer) + ".weight" : null;
        List<String> names = constrained ? List.of(target) : new ArrayList<>(m.net().parameters().keySet());
        WeightDelta delta = WeightDelta.before(m.net(), names);
        List<SupervisedTrainer.Example> data = new ArrayList<>();
        for (KnowledgeRequest r : run.requests())
            data.add(QaFineTuner.example(m.tokenizer(), run.format(), r.question(), r.target()));
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
        SupervisedTrainer.train(m.net(), params, data, new SupervisedTrainer.Settings(epochs, batch, lr, 0.0, 0.1, 1.0, run.seed()),
                m.tokenizer().padId(), name(), null, project);
        Trainable.freezeAll(m.net());
        return delta;
    }
}
