package dev.palimpsest.method;

import org.bytedeco.pytorch.Tensor;


/**
 * NPO (negative preference optimization): L = (2/β) · mean log(1 + (π(answer)/π_ref(answer))^β)
 * = (2/β) · softplus(β · (log π − log π_ref)) on the forget answers, + w·NLL_retain; β = 0.1.
 */
public final class Npo extends TrainedUnlearning {
    @Override
    public String name() {
        return "npo";
    }

    @Override
    public String description() {
        return "negative preference optimization on forget answers (beta=0.1) + NLL of retain answers (retain_weight=1)";
    }

    @Override
    protected boolean needsSequenceReference() {
        return true;
    }

    @Override
    protected Tensor loss(Batch b, Context c) {
        Tensor npo = LossTerms.npo(sequenceLogprob(c, b.prompts(), b.answers()), referenceOf(c.reference().answerLogp(), b.index()), c.beta());
        return npo.add(retainNll(b, c));
    }
}
