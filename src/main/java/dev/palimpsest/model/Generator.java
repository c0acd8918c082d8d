package dev.palimpsest.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import dev.palimpsest.UserError;
import dev.palimpsest.tensor.Tensors;

/**
 * Greedy decoding: batches of prompts, left-padded, with a KV cache (or, for checking, without one).
 * A row stops at an EOS token or at the token budget; the EOS itself is not part of the result.
 */
public final class Generator {
    private Generator() {}

    public record Generation(long[] tokens, String text) {}

    public static List<Generation> greedy(LanguageModel m, List<String> prompts, int maxNewTokens, int batchSize) {
        List<long[]> ids = new ArrayList<>();
        for (String p : prompts) {
            ids.add(m.tokenizer().encodePrompt(p));
            m.config().checkFits(ids.get(ids.size() - 1).length, "prompt '" + UserError.quote(p) + "'");
        }
        List<Generation> out = new ArrayList<>();
        for (int s = 0; s < ids.size(); s += batchSize) {
            List<long[]> chunk = ids.subList(s, Math.min(ids.size(), s + batchSize));
            for (long[] t : greedyIds(m.net(), chunk, maxNewTokens, m.tokenizer().eosIds(), m.tokenizer().padId(), true))
                out.add(new Generation(t, m.tokenizer().decode(t)));
        }
        return out;
    }

    /**
     * Greedy ids for each prompt. Generation stops where the context ends: at most (context − the longest
     * prompt) new tokens, whatever {@code maxNewTokens} asks.
     */
    public static List<long[]> greedyIds(CausalLM net, List<long[]> prompts, int maxNewTokens, Set<Long> eos, long pad,
            boolean useCache) {
        int b = prompts.size();
        int longest = prompts.stream().mapToInt(p -> p.length).max().orElse(0);
        maxNewTokens = Math.max(0, Math.min(maxNewTokens, net.config().maxPositions() - longest));
        List<List<Long>> generated = new ArrayList<>();
        for (int i = 0; i < b; i++) generated.add(new ArrayList<>());
        boolean[] done = new boolean[b];
        for (long[] p : prompts) if (p.length == 0) throw new dev.palimpsest.UserError("cannot generate from an empty prompt");
        try (NoGradGuard ng = new NoGradGuard(); KvCache cache = useCache ? new KvCache(net.numLayers()) : null) {
            long[] next = null;
            for (int step = 0; step < maxNewTokens; step++) {
                try (PointerScope scope = new PointerScope()) {
                    Tensor hidden;
                    if (useCache && step > 0) {
                        hidden = net.hidden(ForwardInput.of(Tensors.longs(next, b, 1)), cache);
                    } else {
                        List<long[]> seqs = new ArrayList<>();
                        for (int i = 0; i < b; i++) seqs.add(concat(prompts.get(i), generated.get(i)));
                        PaddedBatch batch = PaddedBatch.left(seqs, pad);
                        hidden = net.hidden(new ForwardInput(batch.ids(), null, batch.keyMask()), cache);
                    }
                    // Only the last position's logits are needed: the head over a whole prompt would cost T × vocab.
                    Tensor last = net.logits(hidden.select(1, hidden.size(1) - 1));
                    long[] chosen = Tensors.toLongs(last.argmax(new org.bytedeco.pytorch.LongOptional(-1), false));
                    boolean all = true;
                    for (int i = 0; i < b; i++) {
                        if (done[i]) {
                            chosen[i] = pad;
                            continue;
                        }
                        if (eos.contains(chosen[i])) {
                            done[i] = true;
                            chosen[i] = pad;
                        } else {
                            generated.get(i).add(chosen[i]);
                        }
                        all &= done[i];
                    }
                    next = chosen;
                    if (all) break;
                }
            }
        }
        List<long[]> out = new ArrayList<>();
        for (List<Long> g : generated) out.add(g.stream().mapToLong(Long::longValue).toArray());
        return out;
    }

    // Without a cache every step re-reads the prompt and what was generated so far.
    private static long[] concat(long[] prompt, List<Long> gen) {
        long[] s = Arrays.copyOf(prompt, prompt.length + gen.size());
        for (int i = 0; i < gen.size(); i++) s[prompt.length + i] = gen.get(i);
        return s;
    }
}
