package dev.palimpsest.method;

import org.bytedeco.pytorch.Tensor;

/**
 * IDK: fine-tune the forget questions to refusals while keeping the retain answers,
 * L = NLL(refusal | question) + w·NLL_retain (the editing-as-unlearning paper's "DPO" baseline, its Eq. 7).
 */
public final class IdkTuning extends TrainedUnlearning {
    @Override
    public String name() {
        return "idk";
    }

    @Override
    public String description() {
        return "NLL of refusals on forget questions + NLL of retain answers (retain_weight=1), epochs=10";
    }

    @Override
    protected int defaultEpochs() {
        return 10;
    }

    @Override
    protected Tensor loss(Batch b, Context c) {
        return meanLogprob(c, b.prompts(), b.refusals()).neg().add(retainNll(b, c));
    }
}
