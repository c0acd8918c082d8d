package dev.palimpsest.method.loka;

import java.util.ArrayList;
import java.util.List;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import dev.palimpsest.method.loka.LokaCodebook;
import dev.palimpsest.tensor.Tensors;
import dev.palimpsest.train.Optimizers;

/**
 * Trains LOKA's router: a max-pooled linear classifier over standardized token states (see
 * {@link LokaCodebook}). A prompt's score is its highest token score; the loss is the logistic loss of that
 * score, averaged per class so that the few update prompts weigh as much as the many negatives: positives are
 * the update prompts and their prompt variants, negatives the retain set's questions and other unrelated prompts.
 * Standardization uses the negatives' token statistics. Full-batch AdamW with weight decay.
 * <p>Why max-pooling over tokens: on the built-in micro world, a classifier on mean-pooled prompt states (the
 * first thing tried) separated update paraphrases from questions about unseen entities far worse, because the
 * question template dominates the mean.
 */
public final class RouterTraining {
    private RouterTraining() {}

    /** Steps, AdamW learning rate and weight decay, and the logit above which the router fires. */
    public record Settings(int steps, double lr, double weightDecay, double threshold, long seed) {}

    public static void fit(LokaCodebook codebook, List<float[][]> positives, List<float[][]> negatives, Tensor centroids, Settings s) {
        if (positives.isEmpty() || negatives.isEmpty()) throw new IllegalArgumentException("the router needs positive and negative prompts");
        try (PointerScope scope = new PointerScope()) {
            Tensor negTokens = tokens(negatives);
            Tensor mean = negTokens.mean(new long[] {0}, false, new org.bytedeco.pytorch.ScalarTypeOptional());
            Tensor std = negTokens.std(new long[] {0}, true, false).add(Tensors.scalar(1e-3));
            Tensor[] pos = padded(positives, mean, std), neg = padded(negatives, mean, std);
            int w = (int) mean.size(0);
            torch.manual_seed(s.seed());
            Tensor weight = Tensors.zeros(ScalarType.Float, w), bias = Tensors.zeros(ScalarType.Float, 1);
            weight.set_requires_grad(true);
            bias.set_requires_grad(true);
            Optimizer opt = Optimizers.adamW(List.of(weight, bias), s.lr(), s.weightDecay());
            for (int step = 0; step < s.steps(); step++) {
                try (PointerScope st = new PointerScope()) {
                    opt.zero_grad();
                    Tensor loss = torch.softplus(bagScores(pos, weight, bias).neg()).mean().add(torch.softplus(bagScores(neg, weight, bias)).mean());
                    loss.backward();
                    opt.step();
                }
            }
            codebook.setRouter(mean, std, weight, Tensors.item(bias), s.threshold(), centroids);
        }
    }

    private static Tensor tokens(List<float[][]> bags) {
        List<Tensor> rows = new ArrayList<>();
        for (float[][] b : bags) rows.add(matrix(b));
        return Tensors.cat(0, rows);
    }

    private static Tensor matrix(float[][] b) {
        int t = b.length, w = b[0].length;
        float[] f = new float[t * w];
        for (int i = 0; i < t; i++) System.arraycopy(b[i], 0, f, i * w, w);
        return Tensors.floats(f, t, w);
    }

    /** Standardized bags padded to one length: [bags, tokens, width] and a mask [bags, tokens]. */
    private static Tensor[] padded(List<float[][]> bags, Tensor mean, Tensor std) {
        int t = bags.stream().mapToInt(b -> b.length).max().getAsInt(), w = (int) mean.size(0);
        Tensor x = Tensors.zeros(ScalarType.Float, bags.size(), t, w), mask = Tensors.zeros(ScalarType.Bool, bags.size(), t);
        for (int i = 0; i < bags.size(); i++) {
            Tensors.slice(x.select(0, i), 0, 0, bags.get(i).length).copy_(matrix(bags.get(i)).sub(mean).div(std));
            Tensors.slice(mask.select(0, i), 0, 0, bags.get(i).length).fill_(Tensors.scalar(1L));
        }
        return new Tensor[] {x, mask};
    }

    private static Tensor bagScores(Tensor[] bags, Tensor weight, Tensor bias) {
        Tensor z = bags[0].matmul(weight).add(bias);
        return torch.where(bags[1], z, Tensors.scalar(-1e9)).amax(new long[] {1}, false);
    }
}
