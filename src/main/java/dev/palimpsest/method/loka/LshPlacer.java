package dev.palimpsest.method.loka;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * LOKA's placement of updates that arrive over time: random-hyperplane locality-sensitive hashing over request
 * embeddings. A batch's bucket is the sign pattern of its mean embedding, less a centre (e.g. the mean embedding of
 * the model's ordinary prompts, which hidden states share), against {@code bits} random hyperplanes through the
 * origin, so similar batches share a bucket; the bucket's memory takes the batch while it
 * has room for it, otherwise (an empty or a full bucket) a new memory is opened for the bucket. Nothing already
 * placed is re-clustered. A bucket also carries the batch's task (edits 0, forgets 1), so the two tasks never share
 * a memory through placement.
 */
public final class LshPlacer {
    private final double[][] planes;
    private final int capacity;
    private final double[] centre;
    private final Map<Long, Integer> bucketMemory = new HashMap<>();
    private final List<Integer> load = new ArrayList<>();

    public LshPlacer(double[] centre, int bits, int capacity, long seed) {
        int dim = centre.length;
        if (bits < 1 || bits > 61) throw new IllegalArgumentException("bits must be in 1..61");
        if (capacity < 1) throw new IllegalArgumentException("capacity must be at least 1");
        Random rnd = new Random(seed);
        planes = new double[bits][dim];
        for (double[] p : planes) for (int t = 0; t < dim; t++) p[t] = rnd.nextGaussian();
        this.capacity = capacity;
        this.centre = centre.clone();
    }

    /** The bucket of one vector of a task: bit i is set when it lies on the positive side of hyperplane i; the bit above them is the task. */
    public long bucket(double[] x, int task) {
        if (task != 0 && task != 1) throw new IllegalArgumentException("task must be 0 (edits) or 1 (forgets)");
        long code = (long) task << planes.length;
        for (int i = 0; i < planes.length; i++) {
            double s = 0;
            for (int t = 0; t < x.length; t++) s += planes[i][t] * (x[t] - centre[t]);
            if (s > 0) code |= 1L << i;
        }
        return code;
    }

    /** Places a batch of request embeddings of one task and returns the memory it goes to. */
    public int place(double[][] batch, int task) {
        if (batch.length == 0) throw new IllegalArgumentException("an empty batch");
        if (batch.length > capacity) throw new IllegalArgumentException("a batch of " + batch.length + " exceeds a memory's capacity of " + capacity);
        double[] mean = new double[batch[0].length];
        for (double[] v : batch) for (int t = 0; t < mean.length; t++) mean[t] += v[t] / batch.length;
        long b = bucket(mean, task);
        Integer mem = bucketMemory.get(b);
        if (mem == null || load.get(mem) + batch.length > capacity) {
            mem = load.size();
            load.add(0);
            bucketMemory.put(b, mem);
        }
        load.set(mem, load.get(mem) + batch.length);
        return mem;
    }

    /** Records that {@code memory} (placed by other means, e.g. the first clustering) serves {@code bucket} and holds {@code load} requests. */
    public void register(long bucket, int memory, int load) {
        while (this.load.size() <= memory) this.load.add(0);
        this.load.set(memory, this.load.get(memory) + load);
        bucketMemory.put(bucket, memory);
    }

    /** Which memory serves each bucket so far. */
    public Map<Long, Integer> buckets() {
        return Map.copyOf(bucketMemory);
    }

    public int memories() {
        return load.size();
    }

    public int load(int memory) {
        return load.get(memory);
    }
}
