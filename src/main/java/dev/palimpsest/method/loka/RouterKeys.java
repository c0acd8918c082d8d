package dev.palimpsest.method.loka;

import java.util.ArrayList;
import java.util.List;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import dev.palimpsest.tensor.Tensors;

/**
 * Builds LOKA's router: keys, not weights. Every token state (last router layer, after the input embeddings when
 * {@code router_keys} holds them) of the update prompts and their
 * variants is a positive key labelled with its request's memory; every token state of the negative prompts is a
 * negative key. A token's margin for a memory is its cosine (of standardized states) to the memory's nearest
 * positive key minus its cosine to the nearest negative key; the router fires where a memory's margins, summed over
 * the tokens so far, pass the threshold; see {@link LokaCodebook}.
 * <p>Why keys: the first router was a max-pooled linear classifier over the same states, trained by gradient. On the
 * default world (seed 0, built with half the retain set, measured on what it never saw) it fired on 26 of 40 update
 * questions, 6 of 40 of their held-out paraphrases and 18 % of held-out questions about other entities; these keys,
 * at threshold 0.25, on 37, 32 and 4 %. A template word matches a positive and a negative key alike and adds no
 * evidence; the words that name the updated facts have no close negative.
 * <p>Only the negatives that are among some positive key's {@link #PER_KEY} nearest are kept, which bounds the
 * codebook's size: a margin matters where a token is near a positive key, and there its nearest negative is near
 * that key too. An approximation: keeping every negative changed no route on the default world (seed 0, measured
 * when the router fired on the best single token).
 */
public final class RouterKeys {
    private RouterKeys() {}

    /** Nearest negatives kept per positive key. */
    static final int PER_KEY = 16;

    /**
     * Fits the codebook's router. States are {@link PromptStates}' ([tokens][width · router layers]); the keys use the
     * last {@code width} columns (the last router layer, and the input embeddings before it when the keys hold them).
     */
    public static void fit(LokaCodebook codebook, List<float[][]> positives, int[] memoryOf, List<float[][]> negatives, int width, double threshold) {
        if (positives.isEmpty() || negatives.isEmpty()) throw new IllegalArgumentException("the router needs positive and negative prompts");
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            Tensor neg = tokens(negatives, width);
            Tensor mean = neg.mean(new long[] {0}, false, new org.bytedeco.pytorch.ScalarTypeOptional());
            Tensor std = neg.std(new long[] {0}, true, false).add(Tensors.scalar(1e-3));
            List<Tensor> posRows = new ArrayList<>();
            List<Long> labels = new ArrayList<>();
            for (int i = 0; i < positives.size(); i++) {
                posRows.add(matrix(positives.get(i), width));
                for (int t = 0; t < positives.get(i).length; t++) labels.add((long) memoryOf[i]);
            }
            Tensor pos = LokaCodebook.normalize(Tensors.cat(0, posRows), mean, std);
            Tensor negKeys = LokaCodebook.normalize(neg, mean, std);
            java.util.TreeSet<Long> keep = new java.util.TreeSet<>();
            int k = (int) Math.min(PER_KEY, negKeys.size(0));
            for (long from = 0; from < pos.size(0); from += 512) {
                Tensor sims = Tensors.slice(pos, 0, from, Math.min(pos.size(0), from + 512)).matmul(negKeys.t());
                for (long i : Tensors.toLongs(sims.topk(k, 1, true, false).get1().contiguous())) keep.add(i);
            }
            long[] idx = keep.stream().mapToLong(Long::longValue).toArray();
            Tensor kept = negKeys.index_select(0, Tensors.longs(idx, idx.length));
            long[] l = labels.stream().mapToLong(Long::longValue).toArray();
            codebook.setRouter(mean, std, pos, Tensors.longs(l, l.length), kept, threshold);
        }
    }

    private static Tensor tokens(List<float[][]> bags, int width) {
        List<Tensor> rows = new ArrayList<>();
        for (float[][] b : bags) rows.add(matrix(b, width));
        return Tensors.cat(0, rows);
    }

    /** The last {@code width} columns of one prompt's states: [tokens, width]. */
    private static Tensor matrix(float[][] b, int width) {
        int t = b.length, w = b[0].length;
        float[] f = new float[t * width];
        for (int i = 0; i < t; i++) System.arraycopy(b[i], w - width, f, i * width, width);
        return Tensors.floats(f, t, width);
    }
}
