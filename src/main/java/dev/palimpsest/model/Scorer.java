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
        for (int i = 0; i < prompts.size(); i++) {
            if (prompts.get(i).length == 0)
                throw new UserError("prompt " + (i + 1) + " is empty and the tokenizer adds no BOS token, so nothing predicts the target's first token");
            if (targets.get(i).length == 0) throw new UserError("target " + (i + 1) + " is empty");
        }
        Integer[] order = new Integer[prompts.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingInt(i -> -(prompts.get(i).length + targets.get(i).length)));
        Scored[] out = new Scored[order.length];
        for (int start = 0; start < order.length; start += batchSize) {
            int end = Math.min(order.length, start + batchSize);
            List<long[]> seqs = new ArrayList<>();
            List<Integer> rows = new ArrayList<>();
            for (int j = start; j < end; j++) {
                int i = order[j];
                long[] p = prompts.get(i), t = targets.get(i);
                long[] s = Arrays.copyOf(p, p.length + t.length - 1);
                System.arraycopy(t, 0, s, p.length, t.length - 1);
                seqs.add(s);
                rows.add(i);
            }
            try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
                PaddedBatch batch = PaddedBatch.right(seqs, pad);
                Tensor h = net.hidden(ForwardInput.of(batch.ids()), null);
                int n = 0;
                for (int i : rows) n += targets.get(i).length;
                long[] bIdx = new long[n], pos = new long[n], tgt = new long[n];
                int k = 0;
                for (int r = 0; r < rows.size(); r++) {
                    long[] p = prompts.get(rows.get(r)), t = targets.get(rows.get(r));
                    for (int j = 0; j < t.length; j++) {
                        bIdx[k] = r;
                        pos[k] = p.length - 1 + j;
                        tgt[k++] = t[j];
                    }
                }
                Tensor rowsH = TokenPositions.gather(h, bIdx, pos);
                Tensor logp = net.logits(rowsH).log_softmax(-1);
                float[] lp = Tensors.toFloats(logp.gather(1, Tensors.longs(tgt, n, 1)));
                k = 0;
                for (int r = 0; r < rows.size(); r++) {
                    long[] t = targets.get(rows.get(r));
                    out[rows.get(r)] = new Scored(t.clone(), Arrays.copyOfRange(lp, k, k + t.length));
                    k += t.length;
                }
            }
        }
        return Arrays.asList(out);
    }
}
