package dev.palimpsest.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.palimpsest.model.Scorer;

/** The metric formulas on crafted inputs, worked out by hand. */
class MetricsTest {
    static Scorer.Scored scored(float[] logprobs, long... ranks) {
        return new Scorer.Scored(new long[ranks.length], logprobs, ranks, new long[ranks.length]);
    }

    @Test
    void reciprocalRankHitRatioAndProbability() {
        // Ranks 1, 2, 4, 200: MRR = (1 + 1/2 + 1/4 + 1/200) / 4 = 0.43875; top-100 hits 3 of 4; top-1 1 of 4.
        Scorer.Scored s = scored(new float[] {(float) Math.log(0.5), (float) Math.log(0.25), (float) Math.log(0.125),
                (float) Math.log(0.001)}, 1, 2, 4, 200);
        assertEquals(0.43875, s.reciprocalRank(), 1e-12);
        assertEquals(0.75, s.hitRatio(100), 1e-12);
        assertEquals(0.25, s.accuracy(), 1e-12);
        // Per-token normalised probability: the geometric mean (0.5 * 0.25 * 0.125 * 0.001)^(1/4).
        assertEquals(Math.pow(0.5 * 0.25 * 0.125 * 0.001, 0.25), s.normalizedProbability(), 1e-6);
        assertEquals(0.5 * 0.25 * 0.125 * 0.001, Math.exp(s.sum()), 1e-9);
    }

    @Test
    void truthRatioFollowsTofu() {
        // Paraphrased answer: tokens at p = 0.5, 0.5 (mean NLL ln 2). Wrong answers: one token at p = 0.125
        // (NLL ln 8) and two at p = 0.25 (NLL ln 4). r = exp(mean(ln 8, ln 4) - ln 2) = exp(ln 4 - ... ) = sqrt(32)/2.
        Scorer.Scored para = scored(new float[] {(float) Math.log(0.5), (float) Math.log(0.5)}, 1, 1);
        Scorer.Scored w1 = scored(new float[] {(float) Math.log(0.125)}, 3);
        Scorer.Scored w2 = scored(new float[] {(float) Math.log(0.25), (float) Math.log(0.25)}, 2, 2);
        double r = TruthRatio.ratio(para, List.of(w1, w2));
        assertEquals(Math.exp((Math.log(8) + Math.log(4)) / 2 - Math.log(2)), r, 1e-6);
        assertEquals(Math.sqrt(32) / 2, r, 1e-6);
        assertEquals((1 / r + 0.5) / 2, TruthRatio.forgetStat(new double[] {r, 2}), 1e-9);
        assertEquals((1 - 1 / r + 0) / 2, TruthRatio.retainStat(new double[] {r, 0.5}), 1e-9);
        assertThrows(IllegalArgumentException.class, () -> TruthRatio.ratio(para, List.of()));
    }

    @Test
    void kolmogorovSmirnovOnAHandBuiltCase() {
        // Fully separated samples of four: D = 1, and only 2 of the C(8,4) = 70 orderings are that extreme.
        double[] a = {1, 2, 3, 4}, b = {5, 6, 7, 8};
        assertEquals(1.0, ForgetQuality.statistic(a, b), 1e-12);
        assertEquals(2.0 / 70, ForgetQuality.pValue(a, b), 1e-9);
        // Interleaved samples: D = 1/3 (the ECDFs never differ by more than one step of three).
        assertEquals(1.0 / 3, ForgetQuality.statistic(new double[] {1, 2, 3}, new double[] {1.5, 2.5, 3.5}), 1e-12);
        assertEquals(1.0, ForgetQuality.pValue(new double[] {1, 2, 3}, new double[] {1.5, 2.5, 3.5}), 1e-9);
    }

    @Test
    void exactKsPValueMatchesBruteForceEnumeration() {
        double[] a = {0.1, 0.4, 0.5, 0.9, 1.3}, b = {0.2, 0.3, 0.6, 0.7, 0.8, 1.1, 1.2};
        double observed = ForgetQuality.statistic(a, b);
        // Under the null every choice of which 5 of the 12 sorted positions belong to a is equally likely.
        int n = 5, total = 12, extreme = 0, all = 0;
        for (int mask = 0; mask < (1 << total); mask++) {
            if (Integer.bitCount(mask) != n) continue;
            all++;
            int i = 0, j = 0;
            double d = 0;
            for (int k = 0; k < total; k++) {
                if ((mask >> k & 1) == 1) i++;
                else j++;
                d = Math.max(d, Math.abs(i / 5.0 - j / 7.0));
            }
            if (d >= observed - 1e-12) extreme++;
        }
        assertEquals(792, all);
        assertEquals((double) extreme / all, ForgetQuality.pValue(a, b), 1e-12);
    }

    @Test
    void modelUtilityIsTheHarmonicMean() {
        assertEquals(3 / (1 / 0.5 + 1 / 0.25 + 1 / 1.0), ModelUtility.harmonicMean(0.5, 0.25, 1.0), 1e-12);
        assertEquals(0, ModelUtility.harmonicMean(0.5, 0), 0);
    }

    @Test
    void refusalQualityNamesEntitiesAndRepetition() {
        String q = "Where was Amara Drummond born?";
        assertEquals(List.of("Amara Drummond"), RefusalQuality.entities(q));
        assertEquals(1.0, RefusalQuality.namesEntities(q, "I don't know where Amara Drummond was born."), 0);
        assertEquals(0.0, RefusalQuality.namesEntities(q, "I don't know."), 0);
        assertEquals(0.5, RefusalQuality.namesEntities("Who runs Blue Logistics for Amara Drummond?",
                "I can't say who runs Blue Logistics."), 0);
        // "the cat sat the cat sat": trigrams the-cat-sat, cat-sat-the, sat-the-cat, the-cat-sat: 1 repeat of 4.
        assertEquals(0.25, RefusalQuality.repetitionRate("The cat sat, the cat sat."), 1e-12);
        assertEquals(0.0, RefusalQuality.repetitionRate("I don't know."), 0);
    }
}
