package dev.palimpsest.method;

import java.util.ArrayList;
import java.util.List;

import org.bytedeco.pytorch.Tensor;

import dev.palimpsest.model.Scorer;
import dev.palimpsest.tensor.Tensors;

/**
 * KL: gradient ascent on the forget set plus w · KL(original ‖ current) of the next-token distributions
 * at the retain answers' positions, the original's computed once before training.
 */
public final class KlRetain extends TrainedUnlearning {
    @Override
    public String name() {
        return "kl";
    }

    @Override
    public String description() {
        return "gradient ascent on forget answers + KL to the original model on retain answers (retain_weight=1)";
    }

    @Override
    protected boolean needsRetainDistributions() {
        return true;
    }

    @Override
    protected Tensor loss(Batch b, Context c) {
        Tensor ga = meanLogprob(c, b.prompts(), b.answers());
        if (b.retainPrompts().isEmpty() || c.retainWeight() == 0) return ga;
        Tensor now = Scorer.targetDistributions(c.net(), b.retainPrompts(), b.retainAnswers(), c.pad());
        List<Tensor> refs = new ArrayList<>();
        for (int i : b.retainIndex()) refs.add(c.reference().retainLogp().get(i));
        Tensor ref = Tensors.cat(0, refs);
        Tensor kl = LossTerms.klToReference(ref, now);
        return ga.add(kl.mul(Tensors.scalar(c.retainWeight())));
    }
}
