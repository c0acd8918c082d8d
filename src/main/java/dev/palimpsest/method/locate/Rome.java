package dev.palimpsest.method.locate;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Adam;
import org.bytedeco.pytorch.AdamOptions;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import dev.palimpsest.UserError;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.method.KnowledgeRequest;
import dev.palimpsest.method.Settings;
import dev.palimpsest.method.Update;
import dev.palimpsest.method.UpdateMethod;
import dev.palimpsest.method.WeightDelta;
import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.ForwardInput;
import dev.palimpsest.model.Generator;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.Linear;
import dev.palimpsest.model.PaddedBatch;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.model.Site;
import dev.palimpsest.model.SiteHook;
import dev.palimpsest.model.SiteHooks;
import dev.palimpsest.model.Tokenizer;
import dev.palimpsest.model.TokenPositions;
import dev.palimpsest.tensor.Tensors;
import dev.palimpsest.train.QaFineTuner;
import dev.palimpsest.world.DefaultModel;
import dev.palimpsest.world.WorldGenerator;

/**
 * ROME (Meng et al. 2022): a rank-one rewrite of one layer's MLP down-projection W per request, in order.
 * <ol>
 * <li>k* = the key (the down-projection's input) at the edit position, averaged over the prompt and the
 * prompt after five short prefixes the model writes itself. The edit position is the subject's last
 * token when the request names a subject, else the prompt's last token (setting {@code position}).</li>
 * <li>v* = v + δ, δ optimised (Adam) at the layer's MLP output at that position: NLL of the new target
 * (+ EOS) over the prefixed prompts, + kl_factor · KL(original ‖ edited) of the next token after
 * "{subject} is a" (subject mode), + v_weight_decay · ‖δ‖ / ‖v‖²; ‖δ‖ clamped to clamp_norm · ‖v‖.</li>
 * <li>W += (v* − W k* − b)(C⁻¹k*)ᵀ / (k*ᵀC⁻¹k*), C the keys' second moment over a corpus (the built-in
 * world's unless {@code corpus=FILE}), with a ridge of 1e-5 · mean(diag C).</li>
 * </ol>
 * Defaults of the original: 20 steps, lr 0.5, weight decay 0.5, KL factor 0.0625, clamp 4. Layer: the
 * middle one by default — causal tracing of the built-in model puts its facts at the last prompt token,
 * where the middle layer's edit works (layer 1 of 4 did not reach the target in 20 steps); for real models
 * in subject mode the original used layer 5 of Llama-2-7B's 32 and 17 of GPT-2 XL's 48.
 */
public final class Rome implements UpdateMethod {
    static final List<String> PREFIX_SEEDS = List.of("The", "Therefore", "Because", "I", "You");

    @Override
    public String name() {
        return "rome";
    }

    @Override
    public String description() {
        return "rank-one edit of one MLP down-projection per request (layer=middle, position=subject|last, v_steps=20, v_lr=0.5, v_weight_decay=0.5, kl_factor=0.0625, clamp_norm=4, mom2_tokens=20000)";
    }

    @Override
    public Update apply(LanguageModel m, QuestionFormat format, List<KnowledgeRequest> requests, List<QaItem> retain,
            Map<String, String> given, long seed) {
        long t0 = System.nanoTime();
        CausalLM net = m.net();
        Settings s = new Settings(name(), given);
        int layer = s.integer("layer", net.numLayers() / 2);
        int steps = s.integer("v_steps", 20), mom2Tokens = s.integer("mom2_tokens", 20_000);
        double lr = s.real("v_lr", 0.5), wd = s.real("v_weight_decay", 0.5), kl = s.real("kl_factor", 0.0625),
                clamp = s.real("clamp_norm", 4.0);
        String position = s.text("position", "auto"), corpus = s.text("corpus", null);
        Map<String, Object> resolved = s.resolved();
        if (!List.of("auto", "subject", "last").contains(position)) throw new UserError("rome: position must be subject or last, got " + position);
        if (layer < 0 || layer >= net.numLayers()) throw new UserError("rome: layer " + layer + " is not between 0 and " + (net.numLayers() - 1));
        if (requests.isEmpty()) throw new UserError("rome: no requests");
        Linear down = net.linear(net.downProjection(layer));
        WeightDelta delta = WeightDelta.before(name(), resolved, net, List.of(down.name() + ".weight"));
        Tensor c;
        try {
            List<String> lines = corpus != null ? java.nio.file.Files.readAllLines(java.nio.file.Path.of(corpus))
                    : WorldGenerator.generate(0, WorldGenerator.DEFAULT).corpus();
            c = SecondMoment.cached(m, layer, lines, mom2Tokens, DefaultModel.cacheRoot().resolve("stats"));
        } catch (IOException e) {
            throw new UserError("rome: cannot read corpus " + corpus + " (" + e.getMessage() + ")");
        }
        c.retainReference();
        List<String> prefixes = prefixes(m);
        for (KnowledgeRequest r : requests) {
            try (PointerScope scope = new PointerScope()) {
                boolean subjectMode = !position.equals("last") && r.subject() != null;
                if (position.equals("subject") && r.subject() == null) throw new UserError("rome: position=subject needs requests with a subject");
                Edit e = new Edit(m, format, r, prefixes, subjectMode);
                Tensor k = e.key(layer);
                Tensor v = e.optimiseValue(layer, steps, lr, wd, kl, clamp);
                rankOne(down, c, k, v);
            }
        }
        c.releaseReference();
        return delta.took((System.nanoTime() - t0) / 1e9);
    }

    static void rankOne(Linear down, Tensor c, Tensor k, Tensor vStar) {
        try (NoGradGuard g = new NoGradGuard()) {
            long f = c.size(0);
            double ridge = 1e-5 * Tensors.item(c.diagonal().mean());
            Tensor reg = c.add(torch.eye(f, Tensors.options(ScalarType.Float)).mul(Tensors.scalar(ridge)));
            Tensor left = torch.linalg_solve(reg, k.view(f, 1)).view(f);
            Tensor residual = vStar.sub(down.apply(k.view(1, f)).view(-1));
            Tensor update = residual.view(-1, 1).matmul(left.view(1, f)).div(Tensors.scalar(Tensors.item(left.dot(k))));
            down.weight().add_(down.storedInOut() ? update.t() : update);
        }
    }

    static List<String> prefixes(LanguageModel m) {
        List<String> out = new ArrayList<>(List.of(""));
        for (Generator.Generation g : Generator.greedy(m, PREFIX_SEEDS, 6, PREFIX_SEEDS.size())) {
            String p = (PREFIX_SEEDS.get(out.size() - 1) + g.text()).replace("\n", " ").strip();
            out.add(p.replaceAll("[.!?]+$", "") + ". ");
        }
        return out;
    }

    private static final class Edit {
        final CausalLM net;
        final List<long[]> prompts = new ArrayList<>();
        final List<Long> editPos = new ArrayList<>();
        final long[] target;
        final long[] essence;
        final long essencePos;
        final long pad;

        Edit(LanguageModel m, QuestionFormat format, KnowledgeRequest r, List<String> prefixes, boolean subjectMode) {
            net = m.net();
            Tokenizer tok = m.tokenizer();
            pad = tok.padId();
            String prompt = format.prompt(r.question());
            target = QaFineTuner.answerIds(tok, format, r.target());
            for (String p : prefixes) {
                String full = p + prompt;
                long[] ids = tok.encodePrompt(full);
                int at = subjectMode ? full.lastIndexOf(r.subject()) : -1;
                if (subjectMode && at < 0) throw new UserError("rome: the subject '" + r.subject() + "' is not in the prompt '" + prompt + "'");
                prompts.add(ids);
                editPos.add(at < 0 ? ids.length - 1 : tok.encodePrompt(full.substring(0, at + r.subject().length())).length - 1L);
            }
            essence = subjectMode ? tok.encodePrompt(r.subject() + " is a") : null;
            essencePos = subjectMode ? tok.encodePrompt(r.subject()).length - 1 : -1;
        }

        Tensor key(int layer) {
            try (NoGradGuard g = new NoGradGuard()) {
                List<Tensor> keys = new ArrayList<>();
                SiteHooks.Handle h = net.sites().record(layer, Site.MLP_KEY, keys);
                try {
                    net.hidden(ForwardInput.of(PaddedBatch.right(prompts, pad).ids()), null);
                } finally {
                    h.close();
                }
                return TokenPositions.gather(keys.get(0), rows(), positions()).mean(new long[] {0}, false,
                        new org.bytedeco.pytorch.ScalarTypeOptional());
            }
        }

        Tensor optimiseValue(int layer, int steps, double lr, double wd, double klFactor, double clamp) {
            List<long[]> seqs = new ArrayList<>();
            for (long[] p : prompts) {
                long[] s = java.util.Arrays.copyOf(p, p.length + target.length - 1);
                System.arraycopy(target, 0, s, p.length, target.length - 1);
                seqs.add(s);
            }
            Tensor ids = PaddedBatch.right(seqs, pad).ids();
            long[] rows = rows(), pos = positions();
            Tensor vOrig, essenceBase = null;
            try (NoGradGuard g = new NoGradGuard()) {
                List<Tensor> values = new ArrayList<>();
                SiteHooks.Handle h = net.sites().record(layer, Site.MLP_OUT, values);
                try {
                    net.hidden(ForwardInput.of(ids), null);
                } finally {
                    h.close();
                }
                vOrig = TokenPositions.gather(values.get(0), new long[] {0}, new long[] {pos[0]}).view(-1);
                if (essence != null) essenceBase = lastLogp(Tensors.longs(essence, 1, essence.length));
            }
            double vNorm = Tensors.item(vOrig.norm());
            Tensor delta = Tensors.zeros(ScalarType.Float, vOrig.size(0)).set_requires_grad(true);
            Adam opt = new Adam(Tensors.vector(List.of(delta)), new AdamOptions(lr));
            long[] tRows = new long[prompts.size() * target.length], tPos = new long[tRows.length], tIds = new long[tRows.length];
            int k = 0;
            for (int i = 0; i < prompts.size(); i++)
                for (int j = 0; j < target.length; j++) {
                    tRows[k] = i;
                    tPos[k] = prompts.get(i).length - 1 + j;
                    tIds[k++] = target[j];
                }
            for (int step = 0; step < steps; step++) {
                try (PointerScope scope = new PointerScope()) {
                    opt.zero_grad();
                    Tensor nll;
                    try (SiteHooks.Handle h = net.sites().add(layer, Site.MLP_OUT, SiteHook.addAt(rows, pos, delta))) {
                        Tensor hid = net.hidden(ForwardInput.of(ids), null);
                        Tensor logp = net.logits(TokenPositions.gather(hid, tRows, tPos)).log_softmax(-1);
                        nll = logp.gather(1, Tensors.longs(tIds, tIds.length, 1)).mean().neg();
                    }
                    Tensor loss = nll.add(delta.norm().div(Tensors.scalar(vNorm * vNorm)).mul(Tensors.scalar(wd)));
                    if (essence != null && klFactor > 0) {
                        try (SiteHooks.Handle h = net.sites().add(layer, Site.MLP_OUT,
                                SiteHook.addAt(new long[] {0}, new long[] {essencePos}, delta))) {
                            Tensor now = lastLogp(Tensors.longs(essence, 1, essence.length));
                            loss = loss.add(essenceBase.exp().mul(essenceBase.sub(now)).sum().mul(Tensors.scalar(klFactor)));
                        }
                    }
                    if (Tensors.item(nll) < 5e-2) break; // the original stops once the target is learned
                    loss.backward();
                    opt.step();
                    try (NoGradGuard g = new NoGradGuard()) {
                        double n = Tensors.item(delta.norm()), max = clamp * vNorm;
                        if (n > max) delta.mul_(Tensors.scalar(max / n));
                    }
                }
            }
            return vOrig.add(delta.detach());
        }

        private Tensor lastLogp(Tensor ids) {
            Tensor hid = net.hidden(ForwardInput.of(ids), null);
            return net.logits(hid.select(1, ids.size(1) - 1)).log_softmax(-1).view(-1);
        }

        long[] rows() {
            long[] r = new long[prompts.size()];
            for (int i = 0; i < r.length; i++) r[i] = i;
            return r;
        }

        long[] positions() {
            return editPos.stream().mapToLong(Long::longValue).toArray();
        }
    }
}
