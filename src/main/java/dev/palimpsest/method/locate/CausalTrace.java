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
 * answer unlikely; then, one (layer, token) at a time, the clean run's hidden state (the residual stream
 * after that layer) is restored in the corrupted run. The indirect effect of a state is the answer
 * token's probability with it restored minus the corrupted probability.
 */
public final class CausalTrace {
    private CausalTrace() {}

    /** The traced prompt: its tokens, the answer token, clean and corrupted probabilities, effects [layer][token]. */
    public record Result(List<String> tokens, long answerToken, String answer, double clean, double corrupted,
            double[][] restored) {
        public double effect(int layer, int token) {
            return restored[layer][token] - corrupted;
        }
    }

    public static Result trace(LanguageModel m, String prompt, String subject, long seed) {
        long[] ids = m.tokenizer().encodePrompt(prompt);
        int at = prompt.indexOf(subject);
        if (subject.isEmpty() || at < 0) throw new UserError("the subject '" + subject + "' does not occur in the prompt");
        int from = m.tokenizer().encodePrompt(prompt.substring(0, at)).length;
        int to = m.tokenizer().encodePrompt(prompt.substring(0, at + subject.length())).length; // exclusive
        if (to <= from) throw new UserError("the subject '" + subject + "' has no tokens of its own in the prompt");
        CausalLM net = m.net();
        int t = ids.length, layers = net.numLayers();
        List<String> tokens = new ArrayList<>();
        for (long id : ids) tokens.add(m.tokenizer().tokenText(id));
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            Tensor input = Tensors.longs(ids, 1, t);
            List<List<Tensor>> clean = new ArrayList<>();
            List<SiteHooks.Handle> handles = new ArrayList<>();
            for (int l = 0; l < layers; l++) {
                List<Tensor> sink = new ArrayList<>();
                clean.add(sink);
                handles.add(net.sites().record(l, Site.RESID_POST, sink));
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
                Tensor cleanStates = TokenPositions.gather(clean.get(l).get(0), new long[t], posIdx);
                try (SiteHooks.Handle noiseHook = net.sites().add(0, Site.RESID_PRE, SiteHook.addAt(noiseRows, noisePos, tiled));
                        SiteHooks.Handle restore = net.sites().add(l, Site.RESID_POST, SiteHook.replaceAt(rowIdx, posIdx, cleanStates))) {
                    Tensor h = net.hidden(ForwardInput.of(batch), null);
                    Tensor logp = net.logits(h.select(1, t - 1)).log_softmax(-1);
                    double[] p = Tensors.toDoublesExact(logp.select(1, answer).exp());
                    restored[l] = p;
                }
            }
            return new Result(tokens, answer, m.tokenizer().decode(new long[] {answer}), pClean, pCorrupt, restored);
        }
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
