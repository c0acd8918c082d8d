package dev.palimpsest.method.memory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import me.tongfei.progressbar.ProgressBar;

import dev.palimpsest.UserError;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.io.Progress;
import dev.palimpsest.method.ContextPrefixes;
import dev.palimpsest.request.KnowledgeRequest;
import dev.palimpsest.request.PromptVariants;
import dev.palimpsest.method.Setting;
import dev.palimpsest.method.Settings;
import dev.palimpsest.method.Undo;
import dev.palimpsest.method.UpdateRun;
import dev.palimpsest.method.UpdateMethod;
import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.ForwardInput;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.PaddedBatch;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.method.memory.WiseSideMemory;
import dev.palimpsest.model.Site;
import dev.palimpsest.model.SiteHooks;
import dev.palimpsest.model.TokenPositions;
import dev.palimpsest.tensor.Tensors;

/**
 * WISE (Wang et al. 2024): lifelong editing into a {@link WiseSideMemory}, a copy of one MLP down-projection trained on
 * the edits while the main memory stays frozen. Requests are edited one after another; each is trained with plain
 * SGD ({@code lr}, at most {@code iterations} steps, stopping once the loss is under 0.02) on
 * <ul>
 * <li>the target's NLL with the side memory on, over the in-scope sequences: the prompt bare and after the model's
 * own context prefixes, the question inside the {@link PromptVariants} wrappers (never a dataset's paraphrases), and the bare prompts and variants of up to {@code replay}
 * earlier edits of the same working memory (the replay of the paper's appendix B.3, here with their NLL too);</li>
 * <li>the routing margins: in-scope scores above β, out-of-scope scores below α, and every in-scope score at least
 * γ above every out-of-scope one; each hinge term is the mean of its positive parts. A score is the routing score at
 * a position that predicts an answer token. Each step takes {@code unrelated} out-of-scope sequences in turn from
 * the retain set's questions and answers (else the context prefixes asked as questions); their keys at the layer do
 * not depend on the side memory, so they are computed once.</li>
 * </ul>
 * The gradient is masked by a random mask (share {@code mask_ratio}) drawn anew for each knowledge shard, and
 * after each step every entry of ΔW is clamped to ±{@code norm_constraint}. Every {@code save_freq} edits the
 * working memory is kept as a shard and a new one started; every {@code merge_freq} edits the last
 * merge_freq / save_freq shards are TIES-merged (density {@code density}) into one memory. A memory's threshold is
 * its edits' lowest in-scope activation (over an edit's bare prompts, the mean of each one's lowest score) × act_ratio,
 * measured again on the memory's final weights when it is complete or the session ends.
 * <p>Defaults: the original's configurations for iterations 70, margins α 5, β 20, γ 10, act_ratio 0.88, save_freq
 * 500, merge_freq 1000, density 0.53, norm_constraint 1.0, and the layer as GRACE's (27/32 of the depth). Measured
 * on the built-in models, three differ: lr 0.1 (at the original's 1.0 SGD oscillates and the side memory fires on
 * most unrelated questions), mask_ratio 1.0 (at 0.2 the edits are not learned) and, beyond the original's single
 * unrelated sentence per edit and no replay, 16 out-of-scope sequences per step and replay 10.
 */
public final class Wise implements UpdateMethod {
    @Override
    public String name() {
        return "wise";
    }

    @Override
    public String description() {
        return "side memory (a copy of one MLP down-projection) trained on the edits, routed by its activation; shards "
                + "with random gradient masks, TIES-merged";
    }

    /** How each edit is trained, and when shards are kept and merged. */
    record Config(double lr, int iterations, double alpha, double beta, double gamma, double maskRatio, int saveFreq,
            int mergeFreq, double density, double normConstraint, int unrelated, int replay) {}

    @Override
    public List<Setting> settings() {
        return List.of(Setting.atLeast("layer", 0).rule("27/32 of the depth (the memories' layer on a model that has them)", "the MLP whose down-projection is copied"),
                Setting.fraction("act_ratio").rule("0.88 (the memories' own on a model that has them)", "routing threshold = lowest in-scope activation × this"),
                Setting.learningRate("lr").is(0.1, "SGD rate (the original's 1.0 oscillates here)"),
                Setting.atLeast("iterations", 1).is(70, "steps per edit (stops below 0.02)"),
                Setting.nonNegative("alpha").is(5.0, "out-of-scope scores must stay below this"),
                Setting.nonNegative("beta").is(20.0, "in-scope scores must rise above this"),
                Setting.nonNegative("gamma").is(10.0, "margin of every in-scope over every out-of-scope score"),
                Setting.fraction("mask_ratio").is(1.0, "share of the memory each shard's gradient mask lets through"),
                Setting.atLeast("save_freq", 1).is(500, "edits per knowledge shard"),
                Setting.atLeast("merge_freq", 1).is(1000, "edits between TIES merges (a multiple of save_freq)"),
                Setting.fraction("density").is(0.53, "TIES density when merging shards"),
                Setting.positive("norm_constraint").is(1.0, "each entry of ΔW is clamped to ± this"),
                Setting.atLeast("unrelated", 1).is(16, "out-of-scope sequences per step"),
                Setting.atLeast("replay", 0).is(10, "earlier edits of the working memory replayed per edit"));
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
        long seed = run.seed();
        CausalLM net = m.net();
        Settings s = run.settings();
        WiseSideMemory existing = m.memory(WiseSideMemory.class);
        int layer = s.integer("layer", existing != null ? existing.layer() : Grace.defaultLayer(net.numLayers()));
        double actRatio = s.real("act_ratio", existing != null ? existing.actRatio() : 0.88);
        Config c = new Config(s.real("lr"), s.integer("iterations"), s.real("alpha"), s.real("beta"), s.real("gamma"),
                s.real("mask_ratio"), s.integer("save_freq"), s.integer("merge_freq"), s.real("density"),
                s.real("norm_constraint"), s.integer("unrelated"), s.integer("replay"));
        if (layer < 0 || layer >= net.numLayers()) throw new UserError("wise: layer " + layer + " is not between 0 and " + (net.numLayers() - 1));
        if (existing != null && existing.layer() != layer)
            throw new UserError("wise: the model already has side memories at layer " + existing.layer() + "; edit that layer or start from a model without them");
        if (c.mergeFreq() < c.saveFreq() || c.mergeFreq() % c.saveFreq() != 0)
            throw new UserError("wise: merge_freq (" + c.mergeFreq() + ") must be a multiple of save_freq (" + c.saveFreq() + ")");
        if (requests.isEmpty()) throw new UserError("wise: no requests");

        List<String> prefixes = ContextPrefixes.of(m);
        OutOfScope pool = OutOfScope.of(m, layer, unrelatedPool(m, format, run.retain(), prefixes));
        boolean fresh = existing == null;
        WiseSideMemory memory = fresh ? new WiseSideMemory(net, layer, actRatio) : existing;
        if (fresh) m.attach(memory);
        int editsBefore = memory.edits();
        Tensor mask = null;
        int maskShard = -1, pastMemory = -1, done = 0;
        boolean whole = false;
        List<List<Sequence>> past = new ArrayList<>();
        try (ProgressBar bar = Progress.bar("wise edits", requests.size())) {
            for (KnowledgeRequest r : requests) {
                int shard = memory.edits() / c.saveFreq();
                if (shard != maskShard) {
                    if (mask != null) mask.releaseReference();
                    mask = gradientMask(memory, c.maskRatio(), seed * 1_000_003L + shard);
                    maskShard = shard;
                }
                try (PointerScope scope = new PointerScope()) {
                    if (memory.working() != pastMemory) {
                        whole = pastMemory >= 0 || memory.edits() % c.saveFreq() == 0;
                        past.clear();
                        pastMemory = memory.working();
                    }
                    List<Sequence> replayed = new ArrayList<>();
                    SplittableRandom pick = new SplittableRandom(seed * 31 + memory.edits());
                    List<List<Sequence>> earlier = new ArrayList<>(past);
                    for (int j = 0; j < c.replay() && !earlier.isEmpty(); j++) replayed.addAll(earlier.remove(pick.nextInt(earlier.size())));
                    past.add(edit(m, memory, format, r, prefixes, pool, replayed, mask, c));
                    boolean last = ++done == requests.size() || (memory.edits() + 1) % c.saveFreq() == 0;
                    if (last && whole) recalibrate(m, memory, past);
                    afterEdit(memory, c);
                }
                bar.step();
            }
        } finally {
            if (mask != null) mask.releaseReference();
            pool.release();
        }
        return new MemoryChange(name(), m, memory, fresh, "wise: " + (memory.edits() - editsBefore)
                + " edits into side memories at layer " + memory.layer() + ", " + memory.size() + " memories in all");
    }

    /** Unrelated sequences as (question prompt ids, answer ids) pairs; an empty answer when there is none. */
    private static List<long[][]> unrelatedPool(LanguageModel m, QuestionFormat format, List<QaItem> retain, List<String> prefixes) {
        List<long[][]> pool = new ArrayList<>();
        for (QaItem q : retain)
            pool.add(new long[][] {m.tokenizer().encodePrompt(format.prompt(q.question())), format.answerIds(m.tokenizer(), q.answer())});
        if (pool.isEmpty())
            for (String p : prefixes.subList(1, prefixes.size())) pool.add(new long[][] {m.tokenizer().encodePrompt(format.prompt(p.strip())), new long[0]});
        return pool;
    }

    /**
     * The out-of-scope sequences' keys at the side memory's layer, computed once: they do not depend on the side
     * memory, which acts on the layer's output, and out-of-scope sequences enter the loss only through their scores.
     */
    private record OutOfScope(Tensor keys, Tensor tokenMask, List<Sequence> seqs) {
        static OutOfScope of(LanguageModel m, int layer, List<long[][]> pool) {
            List<Sequence> seqs = new ArrayList<>();
            List<long[]> ids = new ArrayList<>();
            for (long[][] u : pool) {
                Sequence q = sequence(u[0], u[1]);
                seqs.add(q);
                ids.add(q.ids());
            }
            PaddedBatch batch = PaddedBatch.right(ids, m.tokenizer().padId());
            List<Tensor> chunks = new ArrayList<>();
            try (NoGradGuard g = new NoGradGuard()) {
                for (int from = 0; from < ids.size(); from += 32) {
                    int to = Math.min(ids.size(), from + 32);
                    Tensor rows = Tensors.slice(batch.ids(), 0, from, to);
                    Tensor mask = batch.keyMask() == null ? null : Tensors.slice(batch.keyMask(), 0, from, to);
                    chunks.add(keysAt(m.net(), layer, new ForwardInput(rows, null, mask)));
                }
            }
            Tensor keys = Tensors.retainedCopy(Tensors.cat(0, chunks));
            Tensor mask = Tensors.retainedCopy(realTokens(batch, ids.size()));
            return new OutOfScope(keys, mask, seqs);
        }

        /** Routing scores of {@code n} sequences taken cyclically from {@code start}, at the positions that predict an answer token. */
        Tensor scores(Tensor delta, long start, int n) {
            long[] pick = new long[n];
            List<Long> rows = new ArrayList<>(), pos = new ArrayList<>();
            for (int j = 0; j < n; j++) {
                pick[j] = (start + j) % seqs.size();
                Sequence q = seqs.get((int) pick[j]);
                for (int t = 0; t < q.labels().length; t++) {
                    rows.add((long) j);
                    pos.add(q.firstPosition() + t);
                }
            }
            Tensor idx = Tensors.longs(pick, n);
            Tensor score = WiseSideMemory.prefixMeans(WiseSideMemory.activations(keys.index_select(0, idx), delta), tokenMask.index_select(0, idx), null, null);
            return TokenPositions.gather(score.unsqueeze(2), toArray(rows), toArray(pos)).view(-1);
        }

        void release() {
            keys.releaseReference();
            tokenMask.releaseReference();
        }
    }

    /** A knowledge shard's random gradient mask: each entry of ΔW is trainable with probability {@code ratio}. */
    static Tensor gradientMask(WiseSideMemory memory, double ratio, long seed) {
        Tensor d = memory.delta(memory.working());
        int n = (int) d.numel();
        float[] f = new float[n];
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) f[i] = rnd.nextDouble() < ratio ? 1f : 0f;
        Tensor mask = Tensors.floats(f, d.size(0), d.size(1));
        mask.retainReference();
        return mask;
    }

    /**
     * Sets the working memory's threshold activation from its final weights: the lowest, over its edits, of each
     * edit's in-scope activation (the mean over its bare prompts of their lowest score while the answer is read).
     * Edits made later in a memory move the activations of earlier ones, so the activation each had just after its
     * own training is stale.
     */
    private static void recalibrate(LanguageModel m, WiseSideMemory memory, List<List<Sequence>> edits) {
        double min = Double.POSITIVE_INFINITY;
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            for (List<Sequence> e : edits) min = Math.min(min, inScopeActivation(m, memory.layer(), memory.delta(memory.working()), e));
        }
        memory.setInScope(memory.working(), min);
    }

    /** The mean over {@code seqs} of each one's lowest routing score at the positions that predict its answer. */
    private static double inScopeActivation(LanguageModel m, int layer, Tensor delta, List<Sequence> seqs) {
        List<long[]> ids = new ArrayList<>();
        for (Sequence q : seqs) ids.add(q.ids());
        PaddedBatch batch = PaddedBatch.right(ids, m.tokenizer().padId());
        Tensor keys = keysAt(m.net(), layer, new ForwardInput(batch.ids(), null, batch.keyMask()));
        return meanLowest(WiseSideMemory.prefixMeans(WiseSideMemory.activations(keys, delta), realTokens(batch, ids.size()), null, null), seqs, seqs.size());
    }

    /** The mean over the first {@code n} sequences of each one's lowest score at the positions that predict its answer. */
    private static double meanLowest(Tensor score, List<Sequence> seqs, int n) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            Sequence q = seqs.get(i);
            sum += Tensors.item(Tensors.slice(score.select(0, i), 0, q.firstPosition(), q.firstPosition() + q.labels().length).min());
        }
        return sum / n;
    }

    /** The MLP keys [batch, tokens, F] at {@code layer} for {@code input}, as floats, without gradients. */
    private static Tensor keysAt(CausalLM net, int layer, ForwardInput input) {
        return keysAt(net, layer, net.prefix(input, layer));
    }

    private static Tensor keysAt(CausalLM net, int layer, CausalLM.Prefix from) {
        List<Tensor> k = new ArrayList<>();
        try (NoGradGuard g = new NoGradGuard(); SiteHooks.Handle h = net.sites().record(layer, Site.MLP_KEY, k)) {
            net.hidden(from);
        }
        return k.get(0).toType(ScalarType.Float);
    }

    /** A padded batch's real tokens as a float mask [rows, width]. */
    private static Tensor realTokens(PaddedBatch batch, int rows) {
        return batch.keyMask() == null ? Tensors.ones(ScalarType.Float, rows, batch.width()) : batch.keyMask().toType(ScalarType.Float);
    }

    /** Sharding: keep the working memory as a shard every save_freq edits, merge the last shards every merge_freq. */
    static void afterEdit(WiseSideMemory memory, Config c) {
        memory.countEdit();
        if (memory.edits() % c.saveFreq() != 0) return;
        memory.addMemory();
        if (memory.edits() % c.mergeFreq() != 0) return;
        int n = c.mergeFreq() / c.saveFreq(), to = memory.working(), from = to - n;
        if (n == 1) return;
        List<Tensor> shards = new ArrayList<>();
        for (int i = from; i < to; i++) shards.add(memory.delta(i));
        memory.replace(from, to, TiesMerge.merge(shards, c.density()));
    }

    /** One sequence of a training batch and the positions whose next token is scored. */
    private record Sequence(long[] ids, long firstPosition, long[] labels) {}

    private static Sequence sequence(long[] prompt, long[] answer) {
        long[] ids = Arrays.copyOf(prompt, prompt.length + Math.max(0, answer.length - 1));
        if (answer.length > 1) System.arraycopy(answer, 0, ids, prompt.length, answer.length - 1);
        return new Sequence(ids, prompt.length - 1, answer.length == 0 ? new long[] {-1} : answer);
    }

    private static List<Sequence> edit(LanguageModel m, WiseSideMemory memory, QuestionFormat format, KnowledgeRequest r, List<String> prefixes,
            OutOfScope unrelated, List<Sequence> replayed, Tensor mask, Config c) {
        CausalLM net = m.net();
        long[] target = format.answerIds(m.tokenizer(), r.target());
        List<Sequence> seqs = new ArrayList<>();
        for (String p : prefixes) seqs.add(sequence(m.tokenizer().encodePrompt(p + format.prompt(r.question())), target));
        for (String q : PromptVariants.of(r.question())) seqs.add(sequence(m.tokenizer().encodePrompt(format.prompt(q)), target));
        List<Sequence> own = new ArrayList<>(seqs.subList(0, 1));
        own.addAll(seqs.subList(prefixes.size(), seqs.size()));
        int ownScope = seqs.size();
        seqs.addAll(replayed);
        int inScope = seqs.size();
        List<long[]> ids = new ArrayList<>();
        for (Sequence q : seqs) ids.add(q.ids());
        PaddedBatch batch = PaddedBatch.right(ids, m.tokenizer().padId());
        // The side memory acts on the layer's output: the layers below it are run once.
        CausalLM.Prefix from = net.prefix(new ForwardInput(batch.ids(), null, batch.keyMask()), memory.layer());
        Tensor tokenMask = realTokens(batch, ids.size());
        // Positions that predict an answer token, with their labels.
        List<Long> inRows = new ArrayList<>(), inPos = new ArrayList<>(), labels = new ArrayList<>();
        for (int i = 0; i < seqs.size(); i++) {
            Sequence q = seqs.get(i);
            for (int j = 0; j < q.labels().length; j++) {
                inRows.add((long) i);
                inPos.add(q.firstPosition() + j);
                labels.add(q.labels()[j]);
            }
        }
        long[] ir = toArray(inRows), ip = toArray(inPos);
        Tensor labelTensor = Tensors.longs(toArray(labels), labels.size(), 1);
        // The keys at this layer do not depend on the side memory, which acts on the layer's output.
        Tensor keys = keysAt(net, memory.layer(), from);
        int w = memory.working();
        Tensor delta = memory.delta(w);
        delta.set_requires_grad(true);
        memory.force(w);
        try {
            for (int it = 0; it < c.iterations(); it++) {
                try (PointerScope scope = new PointerScope()) {
                    Tensor hid = net.hidden(from);
                    Tensor nll = net.logits(TokenPositions.gather(hid, ir, ip)).log_softmax(-1).gather(1, labelTensor).mean().neg();
                    Tensor score = WiseSideMemory.prefixMeans(WiseSideMemory.activations(keys, delta), tokenMask, null, null);
                    Tensor in = TokenPositions.gather(score.unsqueeze(2), ir, ip).view(-1);
                    Tensor out = unrelated.scores(delta, (long) (memory.edits() * c.iterations() + it) * c.unrelated(), c.unrelated());
                    Tensor gap = meanOfPositive(out.view(1, -1).sub(in.view(-1, 1)).add(Tensors.scalar(c.gamma())));
                    Tensor loss = nll.add(gap).add(meanOfPositive(out.sub(Tensors.scalar(c.alpha()))))
                            .add(meanOfPositive(in.neg().add(Tensors.scalar(c.beta()))));
                    if (Tensors.item(loss) < 0.02) break;
                    loss.backward();
                    try (NoGradGuard g = new NoGradGuard()) {
                        delta.sub_(delta.grad().mul(mask).mul(Tensors.scalar(c.lr())));
                        delta.clamp_(new org.bytedeco.pytorch.ScalarOptional(Tensors.scalar(-c.normConstraint())),
                                new org.bytedeco.pytorch.ScalarOptional(Tensors.scalar(c.normConstraint())));
                        delta.grad().zero_();
                    }
                }
            }
        } finally {
            memory.force(null);
            delta.set_requires_grad(false);
        }
        try (NoGradGuard g = new NoGradGuard()) {
            memory.recordInScope(w, meanLowest(WiseSideMemory.prefixMeans(WiseSideMemory.activations(keys, delta), tokenMask, null, null), seqs, ownScope));
        }
        return own;
    }

    /** The mean of the positive entries (0 when there are none), as WISE's hinge terms. */
    private static Tensor meanOfPositive(Tensor x) {
        Tensor pos = x.relu();
        return Tensors.sum(pos.reshape(-1), 0).div(Tensors.sum(x.gt(Tensors.scalar(0.0)).toType(ScalarType.Float).reshape(-1), 0).clamp_min(Tensors.scalar(1.0)));
    }

    private static long[] toArray(List<Long> xs) {
        return xs.stream().mapToLong(Long::longValue).toArray();
    }
}
