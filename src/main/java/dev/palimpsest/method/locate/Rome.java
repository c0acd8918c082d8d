package dev.palimpsest.method.locate;

import java.util.List;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import me.tongfei.progressbar.ProgressBar;

import dev.palimpsest.UserError;
import dev.palimpsest.io.Progress;
import dev.palimpsest.method.ContextPrefixes;
import dev.palimpsest.request.KnowledgeRequest;
import dev.palimpsest.method.Setting;
import dev.palimpsest.method.Settings;
import dev.palimpsest.method.Undo;
import dev.palimpsest.method.UpdateRun;
import dev.palimpsest.method.UpdateMethod;
import dev.palimpsest.method.WeightDelta;
import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.Linear;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.model.Site;
import dev.palimpsest.tensor.Tensors;

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
    @Override
    public String name() {
        return "rome";
    }

    @Override
    public String whenItDoesNotTake() {
        return EditPrompts.LOCUS_HINT;
    }

    @Override
    public String description() {
        return "rank-one edit of one MLP down-projection per request, against the keys' second moment over a corpus";
    }

    @Override
    public List<Setting> settings() {
        return List.of(Setting.atLeast("layer", 0).rule("the middle layer", "the MLP down-projection edited"),
                Setting.atLeast("v_steps", 1).is(20, "Adam steps optimising the new value v*"),
                Setting.learningRate("v_lr").is(0.5, "rate of those steps"),
                Setting.nonNegative("v_weight_decay").is(0.5, "weight decay on δ relative to the value's norm"),
                Setting.nonNegative("kl_factor").is(0.0625, "weight of the KL that keeps the subject's other facts"),
                Setting.positive("clamp_norm").is(4.0, "δ is clamped to this × the original value's norm"),
                Setting.atLeast("mom2_tokens", 1).is(20_000, "corpus tokens for the keys' second moment C"),
                Setting.flag("mom2_adjustment").is("true", "solve against C; false: C = I, a plain rank-one projection (EasyEdit's ROME on Llama; no corpus)"),
                Setting.oneOf("position", "auto", "subject", "last").is("auto", "where the key is read: subject's last token, prompt's last token; auto: subject when the request names one"),
                StatisticsCorpus.SETTING,
                Setting.oneOf("tokens", "first", "all").is("first", "edit the target's first token, or one key per target token"));
    }

    @Override
    public Undo update(UpdateRun run) {
        LanguageModel m = run.model();
        QuestionFormat format = run.format();
        List<KnowledgeRequest> requests = run.requests();
        CausalLM net = m.net();
        Settings s = run.settings();
        int layer = s.integer("layer", net.numLayers() / 2);
        var vs = EditPrompts.ValueSettings.of(s);
        int mom2Tokens = s.integer("mom2_tokens");
        String position = s.text("position"), corpus = s.text("corpus", null), tokens = s.text("tokens");
        if (layer < 0 || layer >= net.numLayers()) throw new UserError("rome: layer " + layer + " is not between 0 and " + (net.numLayers() - 1));
        if (requests.isEmpty()) throw new UserError("rome: no requests");
        Linear down = net.linear(net.downProjection(layer));
        WeightDelta delta = WeightDelta.before(net, List.of(down.name() + ".weight"));
        Tensor c = s.flag("mom2_adjustment") ? SecondMoment.forMethod(name(), m, layer, StatisticsCorpus.of(name(), m, corpus), mom2Tokens)
                : torch.eye(down.inFeatures(), Tensors.options(ScalarType.Float));
        c.retainReference();
        List<String> prefixes = ContextPrefixes.of(m);
        try (ProgressBar bar = Progress.bar("rome edits", requests.size())) {
            for (KnowledgeRequest r : requests) {
                try (PointerScope scope = new PointerScope()) {
                    if (position.equals("subject") && r.subject() == null) throw new UserError("rome: position=subject needs requests with a subject");
                    for (EditPrompts e : EditPrompts.of(name(), m, format, r, prefixes, !position.equals("last") && r.subject() != null,
                            tokens.equals("all"))) {
                        Tensor k = e.key(layer);
                        Tensor v = e.activation(layer, Site.MLP_OUT).add(e.optimiseDelta(layer, Site.MLP_OUT, vs));
                        rankOne(down, c, k, v);
                    }
                }
                bar.step();
            }
        }
        c.releaseReference();
        return delta;
    }

    static void rankOne(Linear down, Tensor c, Tensor k, Tensor vStar) {
        try (NoGradGuard g = new NoGradGuard()) {
            long f = c.size(0);
            double ridge = 1e-5 * Tensors.item(c.diagonal().mean());
            Tensor reg = c.add(torch.eye(f, Tensors.options(ScalarType.Float)).mul(Tensors.scalar(ridge)));
            Tensor left = torch.linalg_solve(reg, k.view(f, 1)).view(f);
            Tensor residual = vStar.sub(down.applyFp32(k.view(1, f)).view(-1));
            Tensor update = residual.view(-1, 1).matmul(left.view(1, f)).div(Tensors.scalar(Tensors.item(left.dot(k))));
            down.addToWeight(update);
        }
    }
}
