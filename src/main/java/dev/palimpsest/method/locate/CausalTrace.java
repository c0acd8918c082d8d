package dev.palimpsest.method.locate;

import java.util.ArrayList;
import java.util.List;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import dev.palimpsest.UserError;
import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.ForwardInput;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.Site;
import dev.palimpsest.model.SiteHook;
import dev.palimpsest.model.SiteHooks;
import dev.palimpsest.model.TokenPositions;
import dev.palimpsest.tensor.Tensors;

/**
 * Causal tracing (Meng et al. 2022): which hidden states carry a fact. The subject's token embeddings
 * are corrupted with Gaussian noise (3 × the embeddings' standard deviation, seeded), which makes the
 * answer unlikely; then, one (layer, token) at a time, the clean run's state is restored in the corrupted
 * run: the hidden state (the residual stream after that layer), or the MLP's output at that token in a
 * window of layers around it (ROME's MLP panel). The indirect effect of a state is the answer token's
 * probability with it restored minus the corrupted probability.
 */
public final class CausalTrace {
    private CausalTrace() {}

    /**
     * The traced prompt: its tokens, the subject's tokens [subjectFrom, subjectTo), the answer token, clean and
     * corrupted probabilities, and the answer's probability with each state restored, [layer][token].
     */
    public record Result(List<String> tokens, int subjectFrom, int subjectTo, long answerToken, String answer, double clean,
            double corrupted, double[][] restored) {
        public double effect(int layer, int token) {
            return restored[layer][token] - corrupted;
        }
    }

    /** What is restored: the residual stream after a layer, or the MLP's output in a window of layers centred on it. */
    public enum Kind {
        HIDDEN, MLP
    }

    /** ROME's MLP window is 10 of GPT-2 XL's 48 layers: the same share of this model's depth, at least one layer. */
    public static int defaultWindow(int layers) {
        return Math.max(1, Math.round(layers * 10f / 48));
    }

    public static Result trace(LanguageModel m, String prompt, String subject, long seed) {
        return trace(m, prompt, subject, seed, Kind.HIDDEN, 1);
    }

    public static Result trace(LanguageModel m, String prompt, String subject, long seed, Kind kind, int window) {
        long[] ids = m.tokenizer().encodePrompt(prompt);
        int at = prompt.indexOf(subject);
        if (subject.isEmpty() || at < 0) throw new UserError("the subject '" + subject + "' does not occur in the prompt");
        int[] span = span(m.tokenizer(), ids, prompt, at, at + subject.length());
        int from = span[0], to = span[1]; // exclusive
        if (from < 0 || to <= from) throw new UserError("the subject '" + subject + "' has no tokens of its own in the prompt");
        CausalLM net = m.net();
        int t = ids.length, layers = net.numLayers();
        List<String> tokens = new ArrayList<>();
        for (long id : ids) tokens.add(m.tokenizer().tokenText(id));
        Site site = kind == Kind.HIDDEN ? Site.RESID_POST : Site.MLP_OUT;
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            Tensor input = Tensors.longs(ids, 1, t);
            List<List<Tensor>> clean = new ArrayList<>();
            List<SiteHooks.Handle> handles = new ArrayList<>();
            for (int l = 0; l < layers; l++) {
                List<Tensor> sink = new ArrayList<>();
                clean.add(sink);
                handles.add(net.sites().record(l, site, sink));
            }
            Tensor cleanLogp;
            try {
                cleanLogp = lastLogp(net, input);
            } finally {
                handles.forEach(SiteHooks.Handle::close);
            }
            long answer = Tensors.toLongs(cleanLogp.argmax())[0];
            double pClean = Math.exp(Tensors.item(cleanLogp.select(0, answer)));

            // Noise on the subject's embeddings: the residual stream entering layer 0. (Both families list
            // the token embedding first among their parameters.)
            Tensor embedding = net.parameters().values().iterator().next();
            double std = Tensors.item(embedding.std());
            torch.manual_seed(seed);
            Tensor noise = Tensors.randn(ScalarType.Float, to - from, embedding.size(1)).mul(Tensors.scalar(3 * std));
            int rows = t;
            long[] noiseRows = new long[rows * (to - from)], noisePos = new long[noiseRows.length];
            for (int r = 0, k = 0; r < rows; r++)
                for (int p = from; p < to; p++, k++) {
                    noiseRows[k] = r;
                    noisePos[k] = p;
                }
            Tensor tiled = noise.repeat(rows, 1);
            double pCorrupt;
            try (SiteHooks.Handle h = net.sites().add(0, Site.RESID_PRE, SiteHook.addAt(new long[to - from], range(from, to), noise))) {
                pCorrupt = Math.exp(Tensors.item(lastLogp(net, input).select(0, answer)));
            }
            // One batched pass per layer: row r restores the clean state at token r.
            double[][] restored = new double[layers][t];
            Tensor batch = input.expand(rows, t).contiguous();
            long[] rowIdx = range(0, rows), posIdx = range(0, t);
            for (int l = 0; l < layers; l++) {
                int lo = kind == Kind.HIDDEN ? l : Math.max(0, l - window / 2);
                int hi = kind == Kind.HIDDEN ? l + 1 : Math.min(layers, l - Math.floorDiv(-window, 2)); // ROME's window
                List<SiteHooks.Handle> hooks = new ArrayList<>();
                try {
                    hooks.add(net.sites().add(0, Site.RESID_PRE, SiteHook.addAt(noiseRows, noisePos, tiled)));
                    for (int k = lo; k < hi; k++)
                        hooks.add(net.sites().add(k, site, SiteHook.replaceAt(rowIdx, posIdx,
                                TokenPositions.gather(clean.get(k).get(0), new long[t], posIdx))));
                    Tensor h = net.hidden(ForwardInput.of(batch), null);
                    Tensor logp = net.logits(h.select(1, t - 1)).log_softmax(-1);
                    restored[l] = Tensors.toDoublesExact(logp.select(1, answer).exp());
                } finally {
                    hooks.forEach(SiteHooks.Handle::close);
                }
            }
            return new Result(tokens, from, to, answer, m.tokenizer().decode(new long[] {answer}), pClean, pCorrupt, restored);
        }
    }

    /** ROME's token groups, in prompt order. */
    public static final List<String> GROUPS = List.of("first subject token", "middle subject tokens", "last subject token",
            "first subsequent token", "further tokens", "last token");

    /** The group of token {@code i} of a traced prompt (a one-token subject is its last token; the prompt's last token is "last token"). */
    static int group(Result r, int i) {
        int last = r.tokens().size() - 1;
        if (i == last) return 5;
        if (i == r.subjectTo() - 1) return 2;
        if (i == r.subjectFrom()) return 0;
        if (i > r.subjectFrom() && i < r.subjectTo()) return 1;
        if (i == r.subjectTo()) return 3;
        return i > r.subjectTo() ? 4 : -1; // tokens before the subject belong to no group
    }

    /**
     * Averages over traced facts, as ROME's figures do: for each token group and layer, the mean (over facts) of the
     * answer's probability with the state restored, as a share of the mean clean probability. A group a prompt lacks
     * (no middle subject tokens) leaves it out of that group's mean; a group no prompt has is NaN.
     */
    public static double[][] averageShare(List<Result> results) {
        return average(results, false);
    }

    /**
     * As {@link #averageShare}, but of what the corruption took away: mean (restored − corrupted) over mean (clean −
     * corrupted), ROME's average indirect effect as a share of the total effect. Where the noise barely moves the answer,
     * a share of the clean probability says little; this says how much of the damage one state undoes.
     */
    public static double[][] averageRecovered(List<Result> results) {
        return average(results, true);
    }

    private static double[][] average(List<Result> results, boolean recovered) {
        int layers = results.get(0).restored().length;
        double[][] sum = new double[layers][GROUPS.size()];
        double[][] cleanSum = new double[layers][GROUPS.size()];
        for (Result r : results) {
            double[][] groupSum = new double[layers][GROUPS.size()];
            int[] count = new int[GROUPS.size()];
            for (int i = 0; i < r.tokens().size(); i++) {
                int g = group(r, i);
                if (g < 0) continue;
                count[g]++;
                for (int l = 0; l < layers; l++) groupSum[l][g] += r.restored()[l][i];
            }
            for (int g = 0; g < GROUPS.size(); g++) {
                if (count[g] == 0) continue;
                double base = recovered ? r.corrupted() : 0;
                for (int l = 0; l < layers; l++) {
                    sum[l][g] += groupSum[l][g] / count[g] - base;
                    cleanSum[l][g] += r.clean() - base;
                }
            }
        }
        for (int l = 0; l < layers; l++)
            for (int g = 0; g < GROUPS.size(); g++) sum[l][g] = cleanSum[l][g] == 0 ? Double.NaN : sum[l][g] / cleanSum[l][g];
        return sum;
    }

    /**
     * The tokens [from, to) whose text overlaps characters [charFrom, charTo) of the prompt. Read from the tokens' own
     * texts: encoding the text before the subject on its own would end in a lone space token that the prompt does not
     * have (byte-level BPE puts the space in front of the next word), shifting the subject by one. A BOS the tokenizer
     * adds in front is allowed; when the texts do not spell the prompt, falls back to encoding the prefixes.
     */
    static int[] span(dev.palimpsest.model.Tokenizer tok, long[] ids, String prompt, int charFrom, int charTo) {
        int[] start = new int[ids.length + 1];
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < ids.length; i++) {
            start[i] = text.length();
            text.append(tok.tokenText(ids[i]));
        }
        start[ids.length] = text.length();
        if (!text.toString().endsWith(prompt)) {
            int from = tok.encodePrompt(prompt.substring(0, charFrom)).length;
            return new int[] {from, tok.encodePrompt(prompt.substring(0, charTo)).length};
        }
        int shift = text.length() - prompt.length(), from = -1, to = -1;
        for (int i = 0; i < ids.length; i++)
            if (start[i + 1] > charFrom + shift && start[i] < charTo + shift) {
                if (from < 0) from = i;
                to = i + 1;
            }
        return new int[] {from, to};
    }

    private static Tensor lastLogp(CausalLM net, Tensor ids) {
        Tensor h = net.hidden(ForwardInput.of(ids), null);
        return net.logits(h.select(1, ids.size(1) - 1)).log_softmax(-1).view(-1);
    }

    private static long[] range(int from, int to) {
        long[] out = new long[to - from];
        for (int i = 0; i < out.length; i++) out[i] = from + i;
        return out;
    }
}
