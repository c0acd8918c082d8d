package dev.palimpsest.eval;

import org.apache.commons.math3.stat.inference.KolmogorovSmirnovTest;

/**
 * TOFU's forget quality: the p-value of a two-sample Kolmogorov–Smirnov test between the truth ratios
 * of the unlearned model and of a reference model (one never trained on the forget set) on the forget
 * set. High p: the two are indistinguishable, as they would be after perfect unlearning.
 */
public final class ForgetQuality {
    private ForgetQuality() {}

    public static double pValue(double[] unlearned, double[] reference) {
        int n = unlearned.length, m = reference.length;
        if (n < 2 || m < 2) throw new IllegalArgumentException("the KS test needs at least two values per sample");
        double d = statistic(unlearned, reference);
        if ((long) n * m > 4_000_000L) return new KolmogorovSmirnovTest().kolmogorovSmirnovTest(unlearned, reference, false);
        return exactPValue(n, m, Math.round(d * n * m));
    }

    /**
     * P(D ≥ d) for samples of n and m under the null hypothesis, exactly (as scipy's ks_2samp does for
     * samples of this size; commons-math 3.6's exact method returns 0 for fully separated samples).
     * Merging the two sorted samples is a random lattice path from (0, 0) to (n, m); D &lt; d means the
     * path stays strictly inside |i/n − j/m| &lt; d, i.e. |i·m − j·n| &lt; d·n·m, an integer.
     */
    static double exactPValue(int n, int m, long dnm) {
        double[] prev = new double[m + 1], cur = new double[m + 1];
        for (int i = 0; i <= n; i++) {
            for (int j = 0; j <= m; j++) {
                double p;
                if (i == 0 && j == 0) p = 1;
                else {
                    p = 0;
                    if (i > 0) p += prev[j] * (double) (n - i + 1) / (n + m - i - j + 1);
                    if (j > 0) p += cur[j - 1] * (double) (m - j + 1) / (n + m - i - j + 1);
                }
                cur[j] = Math.abs((long) i * m - (long) j * n) < dnm ? p : 0;
            }
            double[] t = prev;
            prev = cur;
            cur = t;
        }
        return Math.max(0, Math.min(1, 1 - prev[m]));
    }

    /** The KS statistic: the largest gap between the two empirical distribution functions. */
    public static double statistic(double[] a, double[] b) {
        return new KolmogorovSmirnovTest().kolmogorovSmirnovStatistic(a, b);
    }
}
