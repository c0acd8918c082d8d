package dev.palimpsest.eval;

import java.util.LinkedHashMap;
import java.util.Map;

import dev.palimpsest.UserError;

/**
 * TOFU's model utility: the harmonic mean of what the model still knows. Over three sets (the retain set, real
 * authors, world facts) × three numbers: the answer's probability (per-token; on real authors and world facts
 * normalised against the wrong answers, as TOFU and open-unlearning do), ROUGE-L recall of the greedy answer,
 * and the truth ratio in its retain form mean(max(0, 1 − 1/r)). On one set alone, the same three numbers give
 * that set's utility.
 */
public final class ModelUtility {
    private ModelUtility() {}

    /** The harmonic mean (0 if any value is 0 or below). */
    public static double harmonicMean(double... values) {
        double s = 0;
        for (double v : values) {
            if (v <= 0) return 0;
            s += 1 / v;
        }
        return values.length / s;
    }

    /** The three numbers of one set, keyed as TOFU names them, with its probability plain or option-normalised. */
    static Map<String, Double> components(String set, Evaluator.QaResult r, boolean normaliseOverOptions) {
        double[] ratios = r.truthRatios();
        if (ratios.length == 0) throw new UserError(set + ": model utility needs wrong answers (perturbed_answer) on every item");
        Map<String, Double> m = new LinkedHashMap<>();
        if (normaliseOverOptions) {
            m.put(set + "_prob_normalised", r.rows().stream().filter(q -> q.optionProbability() != null)
                    .mapToDouble(Evaluator.QaRow::optionProbability).average().orElse(Double.NaN));
        } else {
            m.put(set + "_prob", r.mean(Evaluator.QaRow::probabilityPerToken));
        }
        m.put(set + "_rougeL_recall", r.mean(Evaluator.QaRow::rougeLRecall));
        m.put(set + "_truth_ratio", TruthRatio.retainStat(ratios));
        return m;
    }

    /** The utility of one set: the harmonic mean of its three numbers, its probability per token. */
    public static double ofSet(Evaluator.QaResult r) {
        return harmonicMean(components("set", r, false).values().stream().mapToDouble(Double::doubleValue).toArray());
    }

    /** TOFU's nine numbers and, last, their harmonic mean under "model_utility". */
    public static Map<String, Double> tofu(Evaluator.QaResult retain, Evaluator.QaResult realAuthors, Evaluator.QaResult worldFacts) {
        Map<String, Double> m = new LinkedHashMap<>(components("retain", retain, false));
        m.putAll(components("real_authors", realAuthors, true));
        m.putAll(components("world_facts", worldFacts, true));
        m.put("model_utility", harmonicMean(m.values().stream().mapToDouble(Double::doubleValue).toArray()));
        return m;
    }
}
