package dev.palimpsest.method.locate;

import java.util.List;
import java.util.Map;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import me.tongfei.progressbar.ProgressBar;

import dev.palimpsest.UserError;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.io.Progress;
import dev.palimpsest.method.ContextPrefixes;
import dev.palimpsest.request.KnowledgeRequest;
import dev.palimpsest.method.Setting;
import dev.palimpsest.method.Settings;
import dev.palimpsest.method.Update;
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
    public String description() {
        return "rank-one edit of one MLP down-projection per request (layer=middle, position=subject|last, tokens=first, v_steps=20, v_lr=0.5, v_weight_decay=0.5, kl_factor=0.0625, clamp_norm=4, mom2_tokens=20000)";
    }

    @Override
    public List<Setting> settings() {
        return List.of(Setting.atLeast("layer", 0), Setting.atLeast("v_steps", 1), Setting.learningRate("v_lr"), Setting.nonNegative("v_weight_decay"),
                Setting.nonNegative("kl_factor"), Setting.positive("clamp_norm"), Setting.atLeast("mom2_tokens", 1),
                Setting.oneOf("position", "auto", "subject", "last"), Setting.text("corpus"), Setting.oneOf("tokens", "first", "all"));
    }

    @Override
    public Update apply(LanguageModel m, QuestionFormat format, List<KnowledgeRequest> requests, List<QaItem> retain,
            Map<String, String> given, long seed) {
        long t0 = System.nanoTime();
        CausalLM net = m.net();
        Settings s = new Settings(this, given);
        int layer = s.integer("layer", net.numLayers() / 2);
        var vs = new EditPrompts.ValueSettings(s.integer("v_steps", 20), s.real("v_lr", 0.5), s.real("v_weight_decay", 0.5),
                s.real("kl_factor", 0.0625), s.real("clamp_norm", 4.0));
        int mom2Tokens = s.integer("mom2_tokens", 20_000);
        String position = s.text("position", "auto"), corpus = s.text("corpus", null), tokens = s.text("tokens", "first");
        Map<String, Object> resolved = s.resolved();
        if (layer < 0 || layer >= net.numLayers()) throw new UserError("rome: layer " + layer + " is not between 0 and " + (net.numLayers() - 1));
        if (requests.isEmpty()) throw new UserError("rome: no requests");
        Linear down = net.linear(net.downProjection(layer));
        WeightDelta delta = WeightDelta.before(name(), resolved, net, List.of(down.name() + ".weight"));
        Tensor c = SecondMoment.forMethod(name(), m, layer, corpus, mom2Tokens);
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
        return delta.took((System.nanoTime() - t0) / 1e9);
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
