package dev.palimpsest.eval;

import java.util.List;

import dev.palimpsest.model.Scorer;

/**
 * TOFU's truth ratio. For one question, with L the mean per-token negative log-likelihood of an answer,
 * r = exp(mean over perturbed answers of L − L of the paraphrased answer): how much more the model
 * believes the (paraphrased) truth than wrong answers of the same form; r &gt; 1 prefers the truth.
 * Reported as TOFU does: on a forget set mean(min(r, 1/r)) (1 = cannot tell truth from falsehood),
 * elsewhere mean(max(0, 1 − 1/r)) (higher = prefers the truth). Where a dataset has no paraphrased
 * answer, the answer itself stands in.
 */
public final class TruthRatio {
    private TruthRatio() {}

    public static double ratio(Scorer.Scored paraphrased, List<Scorer.Scored> perturbed) {
        if (perturbed.isEmpty()) throw new IllegalArgumentException("the truth ratio needs perturbed answers");
        double pert = 0;
        for (Scorer.Scored p : perturbed) pert += -p.sum() / p.logprobs().length;
        pert /= perturbed.size();
        double para = -paraphrased.sum() / paraphrased.logprobs().length;
        return Math.exp(pert - para);
    }

    public static double forgetStat(double[] ratios) {
        double s = 0;
        for (double r : ratios) s += Math.min(r, 1 / r);
        return s / ratios.length;
    }

    public static double retainStat(double[] ratios) {
        double s = 0;
        for (double r : ratios) s += Math.max(0, 1 - 1 / r);
        return s / ratios.length;
    }
}
