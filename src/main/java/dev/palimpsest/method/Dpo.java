package dev.palimpsest.method;

import java.util.ArrayList;
import java.util.List;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import dev.palimpsest.tensor.Tensors;

/**
 * DPO with the refusal preferred over the true answer and the original model as the frozen reference:
 * L = −log σ(β [(log π(refusal) − log π_ref(refusal)) − (log π(answer) − log π_ref(answer))])
 *     + r·NLL(refusal) + w·NLL_retain, β = 0.1, sequence log-probabilities.
 * The refusal term (r = {@code refusal_weight}, default 1; 0 gives plain DPO) is our choice: measured on
 * the built-in model, plain DPO pushes the answer down without producing the refusal (at most 1 of 40
 * answers refused at lr 5e-4, 2e-3 and 5e-3), because lowering the rejected answer alone satisfies the loss.
 */
public final class Dpo extends TrainedUnlearning {
    @Override
    public String name() {
        return "dpo";
    }

    @Override
    public String description() {
        return "preference loss, refusal over answer, frozen reference (beta=0.1) + refusal NLL (refusal_weight=1) + retain NLL (retain_weight=1), epochs=10";
    }

    @Override
    public List<Setting> settings() {
        List<Setting> s = new ArrayList<>(super.settings());
        s.add(Setting.nonNegative("refusal_weight"));
        return s;
    }

    @Override
    protected int defaultEpochs() {
        return 10;
    }

    @Override
    protected double refusalWeight(Settings s) {
        return s.real("refusal_weight", 1.0);
    }

    @Override
    protected boolean needsSequenceReference() {
        return true;
    }

    @Override
    protected Tensor loss(Batch b, Context c) {
        Tensor win = sequenceLogprob(c, b.prompts(), b.refusals()).sub(referenceOf(c.reference().refusalLogp(), b.index()));
        Tensor lose = sequenceLogprob(c, b.prompts(), b.answers()).sub(referenceOf(c.reference().answerLogp(), b.index()));
        Tensor pref = torch.log_sigmoid(win.sub(lose).mul(Tensors.scalar(c.beta()))).mean().neg();
        Tensor sft = meanLogprob(c, b.prompts(), b.refusals()).neg().mul(Tensors.scalar(c.refusalWeight()));
        return pref.add(sft).add(retainNll(b, c));
    }
}
