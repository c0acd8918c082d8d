package dev.palimpsest.method;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

import dev.palimpsest.tensor.Tensors;

/** The preference losses' values and signs against hand computations. */
class LossTermsTest {
    static double value(Tensor t) {
        return Tensors.toFloats(t)[0];
    }

    static double softplus(double x) {
        return Math.log1p(Math.exp(x));
    }

    @Test
    void npoIsTwoOverBetaSoftplusOfTheLogRatio() {
        // Sequence log-probabilities −2 and −5 against reference −3 and −3, β = 0.5: log-ratios +1 and −2.
        double beta = 0.5;
        double want = (2 / beta) * (softplus(beta * 1) + softplus(beta * -2)) / 2;
        assertEquals(want, value(LossTerms.npo(Tensors.floats(new float[] {-2, -5}), Tensors.floats(new float[] {-3, -3}), beta)), 1e-5);
        // At the reference point NPO is (2/β) log 2, and it falls as the answer becomes less likely than it was.
        double atRef = value(LossTerms.npo(Tensors.floats(new float[] {-3}), Tensors.floats(new float[] {-3}), beta));
        assertEquals(4 * Math.log(2), atRef, 1e-5);
        assertTrue(value(LossTerms.npo(Tensors.floats(new float[] {-6}), Tensors.floats(new float[] {-3}), beta)) < atRef);
    }

    @Test
    void dpoIsMinusTwoOverBetaLogSigmoidOfTheMargin() {
        // Refusal log-ratio +0.5, answer log-ratio +1.5 (the answer gained more): margin −1; β = 0.1.
        double beta = 0.1;
        double want = -(2 / beta) * Math.log(1 / (1 + Math.exp(-beta * -1.0)));
        assertEquals(want, value(LossTerms.dpo(Tensors.floats(new float[] {0.5f}), Tensors.floats(new float[] {1.5f}), beta)), 1e-4);
        // At the reference point, (2/β) log 2 as NPO; preferring the refusal lowers it, whichever of the two moves.
        double atRef = value(LossTerms.dpo(Tensors.floats(new float[] {0}), Tensors.floats(new float[] {0}), beta));
        assertEquals(20 * Math.log(2), atRef, 1e-4);
        assertTrue(value(LossTerms.dpo(Tensors.floats(new float[] {2}), Tensors.floats(new float[] {0}), beta)) < atRef);
        assertTrue(value(LossTerms.dpo(Tensors.floats(new float[] {0}), Tensors.floats(new float[] {-2}), beta)) < atRef);
    }
}
