package dev.palimpsest.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;

import dev.palimpsest.UserError;
import dev.palimpsest.tensor.Tensors;

/**
 * Per-token log-probabilities of a target continuation given a prompt, under teacher forcing. Prompt
 * and target are tokenized separately and their ids concatenated (BOS before the prompt only where the
 * tokenizer asks). Batches are sorted by length and right-padded; only the positions that predict
 * target tokens go through the output head.
 */
public final class Scorer {
    private Scorer() {}

    /**
     * What teacher forcing says about one target: each token's log-probability, its rank among the
     * vocabulary (1 = the model's top choice; ties rank in the token's favour) and the model's top token.
     */
    public record Scored(long[] targetIds, float[] logprobs, long[] ranks, long[] top) {
        /** log P(target | prompt), the sum over its tokens. */
        public double sum() {
            double s = 0;
            for (float f : logprobs) s += f;
            return s;
        }

        /** P(target | prompt) normalised per token: exp of the mean token log-probability. */
        public double normalizedProbability() {
            return Math.exp(sum() / logprobs.length);
        }

        /** Mean over the target's tokens of 1 / rank. */
        public double reciprocalRank() {
            double s = 0;
            for (long r : ranks) s += 1.0 / r;
            return s / ranks.length;
        }

        /** Share of the target's tokens ranked within the top m. */
        public double hitRatio(int m) {
            int hits = 0;
            for (long r : ranks) if (r <= m) hits++;
            return (double) hits / ranks.length;
        }

        /** Share of the target's tokens that are the model's top choice (teacher-forced accuracy). */
        public double accuracy() {
            return hitRatio(1);
        }
    }

    /** The model's output was NaN or infinite: never turned into a metric. */
    public static final class NonFinite extends UserError {
        NonFinite() {
            super("the model's output is NaN or infinite; its weights or memories are broken (did an update diverge?)");
        }
    }

    public static List<Scored> score(LanguageModel m, List<String> prompts, List<String> targets, int batchSize) {
        List<long[]> p = new ArrayList<>(), t = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            p.add(m.tokenizer().encodePrompt(prompts.get(i)));
            t.add(m.tokenizer().encode(targets.get(i)));
            m.config().checkFits(p.get(i).length + t.get(i).length - 1L, "prompt '" + UserError.quote(prompts.get(i)) + "' with its target");
        }
        return scoreIds(m.net(), p, t, batchSize, m.tokenizer().padId());
    }

    /** As {@link #score}, on token ids. A non-finite log-probability throws {@link NonFinite}. */
    public static List<Scored> scoreIds(CausalLM net, List<long[]> prompts, List<long[]> targets, int batchSize,
            long pad) {
        return scoreAlong(net, prompts, targets, targets, batchSize, pad);
    }

    /**
     * The targets' tokens scored where the model reads {@code contexts} instead: token j of a target is ranked
     * in the distribution that follows the prompt and the first j tokens of its context (as long as the target).
     * With the model's own greedy answer as the context, these are the ranks at each step of generation (PISTOL's
     * MRR); with the target as its own context, teacher forcing ({@link #scoreIds}).
     */
    public static List<Scored> scoreAlong(CausalLM net, List<long[]> prompts, List<long[]> contexts, List<long[]> targets,
            int batchSize, long pad) {
        if (prompts.size() != targets.size() || contexts.size() != targets.size())
            throw new IllegalArgumentException("prompts, contexts and targets differ in number");
        for (int i = 0; i < targets.size(); i++)
            if (contexts.get(i).length != targets.get(i).length) throw new IllegalArgumentException("context " + i + " is not as long as its target");
        Integer[] order = new Integer[prompts.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingInt(i -> -(prompts.get(i).length + targets.get(i).length)));
        Scored[] out = new Scored[order.length];
        for (int start = 0; start < order.length; start += batchSize) {
            List<Integer> rows = Arrays.asList(order).subList(start, Math.min(order.length, start + batchSize));
            List<long[]> p = new ArrayList<>(), c = new ArrayList<>(), t = new ArrayList<>();
            for (int i : rows) {
                p.add(prompts.get(i));
                c.add(contexts.get(i));
                t.add(targets.get(i));
            }
            try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
                Tensor logp = targetDistributions(net, p, c, pad);
                Tensor own = logp.gather(1, targetIndex(t));
                float[] lp = Tensors.toFloats(own);
                for (float f : lp) if (!Float.isFinite(f)) throw new NonFinite();
                long[] rank = Tensors.toLongs(logp.gt(own).sum(new long[] {1}, false, new ScalarTypeOptional()).add(Tensors.scalar(1L)));
                long[] top = Tensors.toLongs(logp.argmax(new LongOptional(1), false));
                int k = 0;
                for (int r = 0; r < rows.size(); r++) {
                    int len = t.get(r).length;
                    out[rows.get(r)] = new Scored(t.get(r).clone(), Arrays.copyOfRange(lp, k, k + len),
                            Arrays.copyOfRange(rank, k, k + len), Arrays.copyOfRange(top, k, k + len));
                    k += len;
                }
            }
        }
        return Arrays.asList(out);
    }

    /**
     * The log-probability of every target token given its prompt and the target tokens before it, for
     * one batch, concatenated in order ([sum of target lengths]). Differentiable: training losses use it.
     */
    public static Tensor targetLogprobs(CausalLM net, List<long[]> prompts, List<long[]> targets, long pad) {
        Tensor logp = targetDistributions(net, prompts, targets, pad);
        return logp.gather(1, targetIndex(targets)).view(logp.size(0));
    }

    /** log P(target | prompt) per example: [batch]. Differentiable. */
    public static Tensor sequenceLogprobs(CausalLM net, List<long[]> prompts, List<long[]> targets, long pad) {
        return sequenceSums(targetLogprobs(net, prompts, targets, pad), targets);
    }

    /** Per-example sums [batch] of {@link #targetLogprobs}' concatenated token values, for a caller that needs both. */
    public static Tensor sequenceSums(Tensor tokens, List<long[]> targets) {
        long[] owner = new long[(int) tokens.size(0)];
        int k = 0;
        for (int i = 0; i < targets.size(); i++) for (int j = 0; j < targets.get(i).length; j++) owner[k++] = i;
        return Tensors.zeros(Tensors.dtype(tokens), targets.size()).index_add(0, Tensors.longs(owner), tokens);
    }

    /** The target tokens of a batch, concatenated, as an [n, 1] index. */
    private static Tensor targetIndex(List<long[]> targets) {
        int n = 0;
        for (long[] t : targets) n += t.length;
        long[] all = new long[n];
        int k = 0;
        for (long[] t : targets) for (long id : t) all[k++] = id;
        return Tensors.longs(all, n, 1);
    }

    /**
     * The log-probability distributions [sum of target lengths, vocab] at the positions that predict
     * each target token, in order. Only those positions go through the output head.
     */
    public static Tensor targetDistributions(CausalLM net, List<long[]> prompts, List<long[]> targets, long pad) {
        List<long[]> seqs = new ArrayList<>();
        int n = 0;
        for (int i = 0; i < prompts.size(); i++) {
            long[] p = prompts.get(i), t = targets.get(i);
            if (p.length == 0)
                throw new UserError("prompt " + (i + 1) + " is empty and the tokenizer adds no BOS token, so nothing predicts the target's first token");
            if (t.length == 0) throw new UserError("target " + (i + 1) + " is empty");
            long[] s = Arrays.copyOf(p, p.length + t.length - 1);
            System.arraycopy(t, 0, s, p.length, t.length - 1);
            seqs.add(s);
            n += t.length;
        }
        long[] rows = new long[n], pos = new long[n];
        int k = 0;
        for (int r = 0; r < prompts.size(); r++) {
            long[] p = prompts.get(r), t = targets.get(r);
            for (int j = 0; j < t.length; j++) {
                rows[k] = r;
                pos[k++] = p.length - 1 + j;
            }
        }
        Tensor h = net.hidden(ForwardInput.of(PaddedBatch.right(seqs, pad).ids()), null);
        return net.logits(TokenPositions.gather(h, rows, pos)).log_softmax(-1);
    }
}
