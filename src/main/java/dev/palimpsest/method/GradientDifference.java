package dev.palimpsest.method;

import org.bytedeco.pytorch.Tensor;

/** GD: gradient ascent on the forget set plus descent on the retain set, L = −NLL_forget + w·NLL_retain. */
public final class GradientDifference extends TrainedUnlearning {
    @Override
    public String name() {
        return "gd";
    }

    @Override
    public String description() {
        return "gradient difference: ascent on forget answers, descent on retain answers (retain_weight=1)";
    }

    @Override
    protected Tensor loss(Batch b, Context c) {
        return meanLogprob(c, b.prompts(), b.answers()).add(retainNll(b, c));
    }
}
