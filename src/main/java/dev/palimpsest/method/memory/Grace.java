package dev.palimpsest.method.memory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Adam;
import org.bytedeco.pytorch.AdamOptions;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import me.tongfei.progressbar.ProgressBar;

import dev.palimpsest.UserError;
import dev.palimpsest.io.Progress;
import dev.palimpsest.request.KnowledgeRequest;
import dev.palimpsest.method.Setting;
import dev.palimpsest.method.Settings;
import dev.palimpsest.method.Undo;
import dev.palimpsest.method.UpdateRun;
import dev.palimpsest.method.UpdateMethod;
import dev.palimpsest.model.CausalLM;
import dev.palimpsest.method.memory.GraceCodebook;
import dev.palimpsest.model.ForwardInput;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.model.Site;
import dev.palimpsest.model.SiteHooks;
import dev.palimpsest.model.TokenPositions;
import dev.palimpsest.tensor.Tensors;

/**
 * GRACE (Hartvigsen et al. 2023): lifelong editing with a {@link GraceCodebook} on one layer; the weights never change.
 * Requests are edited one after another. For each token of the target (and the closing EOS), the key is the
 * layer's MLP key at the token before it (the prompt's last token for the first), and its label the token:
 * <ul>
 * <li>no entry, or the nearest entry farther than its radius + ε: a new entry (key, value = the layer's output
 * there, radius ε);</li>
 * <li>the nearest entry in reach with the same label: its radius grows to cover the new key;</li>
 * <li>in reach with another label: both radii shrink to half the distance and a new entry is added.</li>
 * </ul>
 * Then the values of the request's entries are trained (Adam, {@code lr}, at most {@code iterations} steps,
 * stopping once the target's NLL is under 0.01) with the codebook in the forward pass. One entry per target
 * token rather than one per request: the original's single entry at the prompt's last token steers only the
 * first answer token, and what follows it in a shallow model is the old answer's continuation.
 * <p>Defaults of the original: ε = 1.0, lr 1.0, 100 iterations, Euclidean distance; the layer as EasyEdit's 27
 * of Llama-2-7B's 32, scaled to the depth (⌊27L/32⌋, the last layer of the built-in model).
 */
public final class Grace implements UpdateMethod {
    @Override
    public String name() {
        return "grace";
    }

    @Override
    public String description() {
        return "codebook of (key, value, radius) at one layer's MLP output, values trained per edit; the weights never change";
    }

    static int defaultLayer(int depth) {
        return Math.min(depth - 1, 27 * depth / 32);
    }

    @Override
    public List<Setting> settings() {
        return List.of(Setting.atLeast("layer", 0).rule("27/32 of the depth (the codebook's layer on a model that has one)", "the layer whose MLP output the codebook replaces"),
                Setting.positive("eps").is(1.0, "radius of a new entry's deferral region"),
                Setting.learningRate("lr").is(1.0, "Adam rate for an entry's value"),
                Setting.atLeast("iterations", 1).is(100, "steps per edit (stops early below 0.01 nats)"));
    }

    @Override
    public boolean keepsWeights() {
        return true;
    }

    @Override
    public Undo update(UpdateRun run) {
        LanguageModel m = run.model();
        QuestionFormat format = run.format();
        List<KnowledgeRequest> requests = run.requests();
        CausalLM net = m.net();
        Settings s = run.settings();
        GraceCodebook existing = m.memory(GraceCodebook.class);
        int layer = s.integer("layer", existing != null ? existing.layer() : defaultLayer(net.numLayers()));
        double eps = s.real("eps"), lr = s.real("lr");
        int iterations = s.integer("iterations");
        if (layer < 0 || layer >= net.numLayers()) throw new UserError("grace: layer " + layer + " is not between 0 and " + (net.numLayers() - 1));
        if (existing != null && existing.layer() != layer)
            throw new UserError("grace: the model already has a codebook at layer " + existing.layer() + "; edit that layer or start from a model without one");
        if (requests.isEmpty()) throw new UserError("grace: no requests");
        boolean fresh = existing == null;
        GraceCodebook book = fresh ? new GraceCodebook(net, layer) : existing;
        if (fresh) m.attach(book);
        int before = book.size();
        try (ProgressBar bar = Progress.bar("grace edits", requests.size())) {
            for (KnowledgeRequest r : requests) {
                try (PointerScope scope = new PointerScope()) {
                    edit(m, book, format, r, eps, lr, iterations);
                }
                bar.step();
            }
        }
        return new MemoryChange(name(), m, book, fresh,
                "grace: " + (book.size() - before) + " codebook entries added, " + book.size() + " in all");
    }

    /** GRACE's expansion rules for one key with its label; returns the entry whose value is to be trained. */
    static int place(GraceCodebook book, Tensor key, Tensor initialValue, long label, double eps) {
        GraceCodebook.Nearest n = book.nearest(key);
        if (n == null || n.distance() > book.radius(n.index()) + eps) return book.add(key, initialValue, eps, label);
        if (book.label(n.index()) == label) {
            book.setRadius(n.index(), Math.max(book.radius(n.index()), n.distance()));
            return n.index();
        }
        book.setRadius(n.index(), n.distance() / 2);
        return book.add(key, initialValue, n.distance() / 2, label);
    }

    private static void edit(LanguageModel m, GraceCodebook book, QuestionFormat format, KnowledgeRequest r, double eps, double lr, int iterations) {
        CausalLM net = m.net();
        long[] prompt = m.tokenizer().encodePrompt(format.prompt(r.question()));
        long[] target = format.answerIds(m.tokenizer(), r.target());
        long[] seq = Arrays.copyOf(prompt, prompt.length + target.length - 1);
        System.arraycopy(target, 0, seq, prompt.length, target.length - 1);
        // The codebook acts on the layer's output: the layers below it are run once.
        CausalLM.Prefix from = net.prefix(ForwardInput.of(Tensors.longs(seq, 1, seq.length)), book.layer());
        long[] rows = new long[target.length], pos = new long[target.length];
        for (int j = 0; j < target.length; j++) pos[j] = prompt.length - 1 + j;
        // Keys at this layer do not depend on the codebook (it acts on the layer's output); a new entry's value
        // starts from the layer's own output, W_down · key.
        Tensor keys, outs;
        try (NoGradGuard g = new NoGradGuard()) {
            List<Tensor> k = new ArrayList<>();
            try (SiteHooks.Handle hk = net.sites().record(book.layer(), Site.MLP_KEY, k)) {
                net.hidden(from);
            }
            keys = TokenPositions.gather(k.get(0), rows, pos);
            outs = net.linear(net.downProjection(book.layer())).apply(keys);
        }
        Set<Integer> trained = new LinkedHashSet<>();
        for (int j = 0; j < target.length; j++) trained.add(place(book, keys.select(0, j), outs.select(0, j), target[j], eps));
        List<Tensor> params = new ArrayList<>();
        for (int i : trained) params.add(book.value(i).set_requires_grad(true));
        Adam opt = new Adam(Tensors.vector(params), new AdamOptions(lr));
        Tensor tgt = Tensors.longs(target, target.length, 1);
        try {
            for (int it = 0; it < iterations; it++) {
                try (PointerScope scope = new PointerScope()) {
                    opt.zero_grad();
                    Tensor hid = net.hidden(from);
                    Tensor nll = net.logits(TokenPositions.gather(hid, rows, pos)).log_softmax(-1).gather(1, tgt).mean().neg();
                    if (Tensors.item(nll) < 1e-2) break;
                    nll.backward();
                    opt.step();
                }
            }
        } finally {
            for (Tensor p : params) p.set_requires_grad(false);
        }
    }
}
