package dev.palimpsest.method.loka;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * LOKA's similarity-aware knowledge mapping: k-means over request embeddings with a capacity per cluster, so that
 * related requests share a memory and no memory is overloaded. Centroids start by k-means++; each assignment step
 * takes (point, centroid) pairs in order of increasing distance and gives a point to the nearest centroid that
 * still has room (a greedy balanced assignment); centroids then move to their points' means, until nothing moves.
 */
public final class BalancedKMeans {
    /** The cluster of each point and the centroids. */
    public record Result(int[] assignment, double[][] centroids) {
        public int size(int cluster) {
            int n = 0;
            for (int a : assignment) if (a == cluster) n++;
            return n;
        }
    }

    private BalancedKMeans() {}

    /** Clusters {@code points} into {@code k} groups of at most {@code capacity} points each. */
    public static Result fit(double[][] points, int k, int capacity, long seed, int maxIterations) {
        int n = points.length;
        if (k < 1 || n < 1) throw new IllegalArgumentException("need at least one point and one cluster");
        if ((long) k * capacity < n) throw new IllegalArgumentException(k + " clusters of capacity " + capacity + " cannot hold " + n + " points");
        double[][] c = initialCentroids(points, Math.min(k, n), new Random(seed));
        if (c.length < k) c = Arrays.copyOf(c, k);
        for (int j = 0; j < k; j++) if (c[j] == null) c[j] = points[j % n].clone();
        int[] assign = null;
        for (int it = 0; it < Math.max(1, maxIterations); it++) {
            int[] next = assign(points, c, capacity);
            boolean same = Arrays.equals(next, assign);
            assign = next;
            c = means(points, assign, c);
            if (same) break;
        }
        return new Result(assign, c);
    }

    static int[] assign(double[][] points, double[][] centroids, int capacity) {
        int n = points.length, k = centroids.length;
        double[] dist = new double[n * k];
        List<Integer> pairs = new ArrayList<>(n * k);
        for (int i = 0; i < n; i++) for (int j = 0; j < k; j++) {
            dist[i * k + j] = squaredDistance(points[i], centroids[j]);
            pairs.add(i * k + j);
        }
        pairs.sort((a, b) -> Double.compare(dist[a], dist[b]) != 0 ? Double.compare(dist[a], dist[b]) : Integer.compare(a, b));
        int[] assign = new int[n], load = new int[k];
        Arrays.fill(assign, -1);
        int done = 0;
        for (int p : pairs) {
            int i = p / k, j = p % k;
            if (assign[i] >= 0 || load[j] >= capacity) continue;
            assign[i] = j;
            load[j]++;
            if (++done == n) break;
        }
        return assign;
    }

    private static double[][] means(double[][] points, int[] assign, double[][] old) {
        int k = old.length, d = points[0].length;
        double[][] c = new double[k][d];
        int[] count = new int[k];
        for (int i = 0; i < points.length; i++) {
            count[assign[i]]++;
            for (int t = 0; t < d; t++) c[assign[i]][t] += points[i][t];
        }
        for (int j = 0; j < k; j++) {
            if (count[j] == 0) c[j] = old[j].clone(); // an empty cluster keeps its centroid
            else for (int t = 0; t < d; t++) c[j][t] /= count[j];
        }
        return c;
    }

    /** k-means++: the first centroid at random, each next one drawn with probability ∝ squared distance to the nearest. */
    private static double[][] initialCentroids(double[][] points, int k, Random rnd) {
        int n = points.length;
        double[][] c = new double[k][];
        c[0] = points[rnd.nextInt(n)].clone();
        double[] near = new double[n];
        Arrays.fill(near, Double.POSITIVE_INFINITY);
        for (int j = 1; j < k; j++) {
            double total = 0;
            for (int i = 0; i < n; i++) {
                near[i] = Math.min(near[i], squaredDistance(points[i], c[j - 1]));
                total += near[i];
            }
            int pick = rnd.nextInt(n);
            if (total > 0) {
                double r = rnd.nextDouble() * total;
                for (int i = 0; i < n; i++) {
                    r -= near[i];
                    if (r <= 0) {
                        pick = i;
                        break;
                    }
                }
            }
            c[j] = points[pick].clone();
        }
        return c;
    }

    static double squaredDistance(double[] a, double[] b) {
        double s = 0;
        for (int t = 0; t < a.length; t++) s += (a[t] - b[t]) * (a[t] - b[t]);
        return s;
    }
}
