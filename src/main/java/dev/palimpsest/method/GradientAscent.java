package dev.palimpsest.method;

import org.bytedeco.pytorch.Tensor;

/** GA: gradient ascent on the forget set, L = −NLL(answer | question). No retain term by default. */
public final class GradientAscent extends TrainedUnlearning {
    @Override
    public String name() {
        return "ga";
    }

    @Override
    public String description() {
        return "gradient ascent on the forget answers (epochs=5, batch=8, lr=5e-4 small / 1e-5 large, retain_weight=0)";
    }

    @Override
    protected double defaultRetainWeight() {
        return 0;
    }

    @Override
    protected Tensor loss(Batch b, Context c) {
        return meanLogprob(c, b.prompts(), b.answers()).add(retainNll(b, c));
    }
}
