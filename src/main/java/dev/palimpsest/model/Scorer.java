package dev.palimpsest.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
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

    public record Scored(long[] targetIds, float[] logprobs) {
        public double sum() {
            double s = 0;
            for (float f : logprobs) s += f;
            return s;
        }
    }

    public static List<Scored> score(LanguageModel m, List<String> prompts, List<String> targets, int batchSize) {
        List<long[]> p = new ArrayList<>(), t = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            p.add(m.tokenizer().encodePrompt(prompts.get(i)));
            t.add(m.tokenizer().encode(targets.get(i)));
        }
        return scoreIds(m.net(), p, t, batchSize, m.tokenizer().padId());
    }

    public static List<Scored> scoreIds(CausalLM net, List<long[]> prompts, List<long[]> targets, int batchSize,
            long pad) {
        if (prompts.size() != targets.size()) throw new IllegalArgumentException("prompts and targets differ in number");
        Integer[] order = new Integer[prompts.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingInt(i -> -(prompts.get(i).length + targets.get(i).length)));
        Scored[] out = new Scored[order.length];
        for (int start = 0; start < order.length; start += batchSize) {
            List<Integer> rows = Arrays.asList(order).subList(start, Math.min(order.length, start + batchSize));
            List<long[]> p = new ArrayList<>(), t = new ArrayList<>();
            for (int i : rows) {
                p.add(prompts.get(i));
                t.add(targets.get(i));
            }
            try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
                float[] lp = Tensors.toFloats(targetLogprobs(net, p, t, pad));
                int k = 0;
                for (int r = 0; r < rows.size(); r++) {
                    out[rows.get(r)] = new Scored(t.get(r).clone(), Arrays.copyOfRange(lp, k, k + t.get(r).length));
                    k += t.get(r).length;
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
        long[] rows = new long[n], pos = new long[n], tgt = new long[n];
        int k = 0;
        for (int r = 0; r < prompts.size(); r++) {
            long[] p = prompts.get(r), t = targets.get(r);
            for (int j = 0; j < t.length; j++) {
                rows[k] = r;
                pos[k] = p.length - 1 + j;
                tgt[k++] = t[j];
            }
        }
        Tensor h = net.hidden(ForwardInput.of(PaddedBatch.right(seqs, pad).ids()), null);
        Tensor logp = net.logits(TokenPositions.gather(h, rows, pos)).log_softmax(-1);
        return logp.gather(1, Tensors.longs(tgt, n, 1)).view(n);
    }
}
