package dev.palimpsest.method;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import org.junit.jupiter.api.Test;

/** The rate schedules against transformers' formulas, worked out by hand for six steps. */
class TrainingLoopTest {
    static double[] rates(TrainingLoop.Rate r, int total) {
        double[] out = new double[total];
        for (int i = 0; i < total; i++) out[i] = r.at(i, total);
        return out;
    }

    @Test
    void warmUpThenConstantOrLinear() {
        // Two warm-up steps (the first at rate 0, as transformers' scheduler starts), then lr, or lr × (6 − i) / 4.
        assertArrayEquals(new double[] {0, 0.5, 1, 1, 1, 1}, rates(new TrainingLoop.Rate(1, 0, 2, false), 6), 1e-12);
        assertArrayEquals(new double[] {0, 0.5, 1, 0.75, 0.5, 0.25}, rates(new TrainingLoop.Rate(1, 0, 2, true), 6), 1e-12);
        assertArrayEquals(new double[] {1, 5.0 / 6, 4.0 / 6, 0.5, 2.0 / 6, 1.0 / 6}, rates(new TrainingLoop.Rate(1, 0, 0, true), 6), 1e-12);
        assertFalse(new TrainingLoop.Rate(1e-3, 0.01, 0, false).varies(), "the default leaves the rate alone");
    }
}
