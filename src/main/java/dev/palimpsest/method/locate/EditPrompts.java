package dev.palimpsest.method.locate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Adam;
import org.bytedeco.pytorch.AdamOptions;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import dev.palimpsest.UserError;
import dev.palimpsest.method.KnowledgeRequest;
import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.ForwardInput;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.PaddedBatch;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.model.Site;
import dev.palimpsest.model.SiteHook;
import dev.palimpsest.model.SiteHooks;
import dev.palimpsest.model.Tokenizer;
import dev.palimpsest.model.TokenPositions;
import dev.palimpsest.tensor.Tensors;
import dev.palimpsest.train.QaFineTuner;

/**
 * One request as the locate-and-edit methods (ROME, MEMIT, AlphaEdit) see it: its prompt bare and after
 * short prefixes the model wrote itself, the edit position in each (the subject's last token, or the
 * prompt's last token), and the target's tokens. It reads keys at that position and optimises the
 * vector δ that, added to a layer's output there, makes the model say the target.
 */
final class EditPrompts {
    /** How δ is optimised: Adam steps, learning rate, weight decay, KL factor on "{subject} is a", clamp (× ‖reference‖). */
    record ValueSettings(int steps, double lr, double weightDecay, double klFactor, double clamp) {}

    private final CausalLM net;
    private final long pad;
    private final List<long[]> prompts;
    private final long[] editPos;
    private final long[] target;
    private final long[] essence;
    private final long essencePos;

    private EditPrompts(CausalLM net, long pad, List<long[]> prompts, long[] editPos, long[] target, long[] essence, long essencePos) {
        this.net = net;
        this.pad = pad;
        this.prompts = prompts;
        this.editPos = editPos;
        this.target = target;
        this.essence = essence;
        this.essencePos = essencePos;
    }

    /**
     * The edits for one request. Subject mode (the request names a subject found in its question): one edit at the
     * subject's last token. Otherwise the edit sits at the prompt's last token; with {@code perToken}, each of the
     * target's tokens (and the closing EOS) becomes its own edit at the token before it — prompt + the target's
     * earlier tokens → that token — so that models too shallow to carry one vector across a multi-token answer
     * still learn all of it.
     */
    static List<EditPrompts> of(String method, LanguageModel m, QuestionFormat format, KnowledgeRequest r, List<String> prefixes,
            boolean subjectMode, boolean perToken) {
        Tokenizer tok = m.tokenizer();
        String prompt = format.prompt(r.question());
        long[] target = QaFineTuner.answerIds(tok, format, r.target());
        List<long[]> prompts = new ArrayList<>();
        long[] pos = new long[prefixes.size()];
        for (int i = 0; i < prefixes.size(); i++) {
            String full = prefixes.get(i) + prompt;
            long[] ids = tok.encodePrompt(full);
            int at = subjectMode ? full.lastIndexOf(r.subject()) : -1;
            if (subjectMode && at < 0) throw new UserError(method + ": the subject '" + r.subject() + "' is not in the prompt '" + prompt + "'");
            prompts.add(ids);
            pos[i] = at < 0 ? ids.length - 1 : tok.encodePrompt(full.substring(0, at + r.subject().length())).length - 1L;
        }
        if (subjectMode)
            return List.of(new EditPrompts(m.net(), tok.padId(), prompts, pos, target, tok.encodePrompt(r.subject() + " is a"),
                    tok.encodePrompt(r.subject()).length - 1));
        if (!perToken) return List.of(new EditPrompts(m.net(), tok.padId(), prompts, pos, target, null, -1));
        List<EditPrompts> out = new ArrayList<>();
        for (int j = 0; j < target.length; j++) {
            List<long[]> longer = new ArrayList<>();
            long[] at = new long[prompts.size()];
            for (int i = 0; i < prompts.size(); i++) {
                long[] p = prompts.get(i), q = Arrays.copyOf(p, p.length + j);
                System.arraycopy(target, 0, q, p.length, j);
                longer.add(q);
                at[i] = q.length - 1;
            }
            out.add(new EditPrompts(m.net(), tok.padId(), longer, at, new long[] {target[j]}, null, -1));
        }
        return out;
    }

    /** k*: the layer's MLP key at the edit position, averaged over the prompts, in fp32 for the solves. [F] */
    Tensor key(int layer) {
        try (NoGradGuard g = new NoGradGuard()) {
            List<Tensor> keys = new ArrayList<>();
            try (SiteHooks.Handle h = net.sites().record(layer, Site.MLP_KEY, keys)) {
                net.hidden(ForwardInput.of(PaddedBatch.right(prompts, pad).ids()), null);
            }
            return TokenPositions.gather(keys.get(0), rows(), positions()).toType(ScalarType.Float)
                    .mean(new long[] {0}, false, new ScalarTypeOptional());
        }
    }

    /** The activation at {@code site} of {@code layer} at the edit position of the bare prompt, under the current weights, in fp32. [D] */
    Tensor activation(int layer, Site site) {
        try (NoGradGuard g = new NoGradGuard()) {
            List<Tensor> out = new ArrayList<>();
            long[] bare = prompts.get(0);
            try (SiteHooks.Handle h = net.sites().record(layer, site, out)) {
                net.hidden(ForwardInput.of(Tensors.longs(bare, 1, bare.length)), null);
            }
            return TokenPositions.gather(out.get(0), new long[] {0}, new long[] {editPos[0]}).view(-1).toType(ScalarType.Float);
        }
    }

    /**
     * δ added to {@code layer}'s MLP output at the edit position of every prompt (the same as adding it to the
     * residual stream leaving the layer): minimises the target's NLL (+ EOS) over the prompts, + kl_factor ·
     * KL(original ‖ edited) of the next token after "{subject} is a" in subject mode, + weight_decay · ‖δ‖ / ‖ref‖²,
     * with ‖δ‖ clamped to clamp · ‖ref‖. ROME's reference is the MLP output there; MEMIT's the residual stream.
     * Stops early once the NLL is under 0.05, as the original does.
     */
    Tensor optimiseDelta(int layer, Site normReference, ValueSettings vs) {
        List<long[]> seqs = new ArrayList<>();
        for (long[] p : prompts) {
            long[] s = Arrays.copyOf(p, p.length + target.length - 1);
            System.arraycopy(target, 0, s, p.length, target.length - 1);
            seqs.add(s);
        }
        Tensor ids = PaddedBatch.right(seqs, pad).ids();
        long[] rows = rows(), pos = positions();
        double refNorm = Tensors.item(activation(layer, normReference).norm());
        Tensor essenceBase = null;
        if (essence != null && vs.klFactor() > 0)
            try (NoGradGuard g = new NoGradGuard()) {
                essenceBase = lastLogp(Tensors.longs(essence, 1, essence.length));
            }
        Tensor delta = Tensors.zeros(ScalarType.Float, net.config().hiddenSize()).set_requires_grad(true);
        Adam opt = new Adam(Tensors.vector(List.of(delta)), new AdamOptions(vs.lr()));
        long[] tRows = new long[prompts.size() * target.length], tPos = new long[tRows.length], tIds = new long[tRows.length];
        int k = 0;
        for (int i = 0; i < prompts.size(); i++)
            for (int j = 0; j < target.length; j++) {
                tRows[k] = i;
                tPos[k] = prompts.get(i).length - 1 + j;
                tIds[k++] = target[j];
            }
        for (int step = 0; step < vs.steps(); step++) {
            try (PointerScope scope = new PointerScope()) {
                opt.zero_grad();
                Tensor nll;
                try (SiteHooks.Handle h = net.sites().add(layer, Site.MLP_OUT, SiteHook.addAt(rows, pos, delta))) {
                    Tensor hid = net.hidden(ForwardInput.of(ids), null);
                    Tensor logp = net.logits(TokenPositions.gather(hid, tRows, tPos)).log_softmax(-1);
                    nll = logp.gather(1, Tensors.longs(tIds, tIds.length, 1)).mean().neg();
                }
                if (Tensors.item(nll) < 5e-2) break;
                Tensor loss = nll.add(delta.norm().div(Tensors.scalar(refNorm * refNorm)).mul(Tensors.scalar(vs.weightDecay())));
                if (essenceBase != null) {
                    try (SiteHooks.Handle h = net.sites().add(layer, Site.MLP_OUT,
                            SiteHook.addAt(new long[] {0}, new long[] {essencePos}, delta))) {
                        Tensor now = lastLogp(Tensors.longs(essence, 1, essence.length));
                        loss = loss.add(essenceBase.exp().mul(essenceBase.sub(now)).sum().mul(Tensors.scalar(vs.klFactor())));
                    }
                }
                loss.backward();
                opt.step();
                try (NoGradGuard g = new NoGradGuard()) {
                    double n = Tensors.item(delta.norm()), max = vs.clamp() * refNorm;
                    if (n > max) delta.mul_(Tensors.scalar(max / n));
                }
            }
        }
        return delta.detach();
    }

    private Tensor lastLogp(Tensor ids) {
        Tensor hid = net.hidden(ForwardInput.of(ids), null);
        return net.logits(hid.select(1, ids.size(1) - 1)).log_softmax(-1).view(-1);
    }

    private long[] rows() {
        long[] r = new long[prompts.size()];
        for (int i = 0; i < r.length; i++) r[i] = i;
        return r;
    }

    private long[] positions() {
        return editPos;
    }
}
