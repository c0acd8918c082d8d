package dev.palimpsest.method.locate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Adam;
import org.bytedeco.pytorch.AdamOptions;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import dev.palimpsest.UserError;
import dev.palimpsest.request.KnowledgeRequest;
import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.ForwardInput;
import dev.palimpsest.model.KvCache;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.PaddedBatch;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.model.Site;
import dev.palimpsest.model.SiteHook;
import dev.palimpsest.model.SiteHooks;
import dev.palimpsest.model.Tokenizer;
import dev.palimpsest.model.TokenPositions;
import dev.palimpsest.tensor.Tensors;

/**
 * One request as the locate-and-edit methods (ROME, MEMIT, AlphaEdit) see it: its prompt bare and after
 * short prefixes the model wrote itself, the edit position in each (the subject's last token, or the
 * prompt's last token), and the target's tokens. It reads keys at that position and optimises the
 * vector δ that, added to a layer's output there, makes the model say the target.
 */
final class EditPrompts {
    /** Why an edit at this locus may not take: the warning `update` prints when most of ROME's or MEMIT's edits did not. */
    static final String LOCUS_HINT = "the edit locus: keys read at the subject's last token (position=auto with a subject) cannot flip facts "
            + "the model recalls elsewhere (trace --facts shows where); try --set position=last, or other layers";

    /** How δ is optimised: Adam steps, learning rate, weight decay, KL factor on "{subject} is a", clamp (× ‖reference‖). */
    record ValueSettings(int steps, double lr, double weightDecay, double klFactor, double clamp) {
        /** The v_* settings, kl_factor and clamp_norm that ROME, MEMIT and AlphaEdit declare (each with its own defaults). */
        static ValueSettings of(dev.palimpsest.method.Settings s) {
            return new ValueSettings(s.integer("v_steps"), s.real("v_lr"), s.real("v_weight_decay"), s.real("kl_factor"), s.real("clamp_norm"));
        }
    }

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
        long[] target = format.answerIds(tok, r.target());
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
        return keys(List.of(this), layer).select(0, 0);
    }

    /** The activation at {@code site} of {@code layer} at the edit position of the bare prompt, under the current weights, in fp32. [D] */
    Tensor activation(int layer, Site site) {
        return activations(List.of(this), layer, site).select(0, 0);
    }

    /** {@link #key} of many edits, [edits, F]: all their prompts in padded batches, each run only up to the layer. */
    static Tensor keys(List<EditPrompts> edits, int layer) {
        List<long[]> seqs = new ArrayList<>();
        List<Long> owners = new ArrayList<>(), pos = new ArrayList<>();
        for (int e = 0; e < edits.size(); e++)
            for (int i = 0; i < edits.get(e).prompts.size(); i++) {
                seqs.add(edits.get(e).prompts.get(i));
                owners.add((long) e);
                pos.add(edits.get(e).editPos[i]);
            }
        Tensor rows = gatherAt(edits.get(0).net, edits.get(0).pad, seqs, pos, layer, Site.MLP_KEY);
        Tensor owner = Tensors.longs(owners.stream().mapToLong(Long::longValue).toArray());
        float[] counts = new float[edits.size()];
        for (int e = 0; e < counts.length; e++) counts[e] = edits.get(e).prompts.size();
        return Tensors.zeros(ScalarType.Float, edits.size(), rows.size(1)).index_add(0, owner, rows).div(Tensors.floats(counts).view(-1, 1));
    }

    /** {@link #activation} of many edits, [edits, width]: their bare prompts in padded batches. */
    static Tensor activations(List<EditPrompts> edits, int layer, Site site) {
        List<long[]> seqs = new ArrayList<>();
        List<Long> pos = new ArrayList<>();
        for (EditPrompts e : edits) {
            seqs.add(e.prompts.get(0));
            pos.add(e.editPos[0]);
        }
        return gatherAt(edits.get(0).net, edits.get(0).pad, seqs, pos, layer, site);
    }

    /**
     * The activation at {@code site} of {@code layer} at one position of each sequence, in fp32 [sequences, width].
     * What a position sees is its sequence up to it, so a sequence that begins with another's tokens up to that
     * position carries it: the per-token edits of one request (its prompt + the target's first j tokens) are read
     * from one pass over the prompt + the whole target. 256 carriers a pass, each run only up to the layer.
     */
    private static Tensor gatherAt(CausalLM net, long pad, List<long[]> seqs, List<Long> positions, int layer, Site site) {
        Carriers c = Carriers.of(seqs, positions);
        Tensor result = null;
        try (NoGradGuard g = new NoGradGuard()) {
            for (int from = 0; from < c.seqs().size(); from += 256) {
                int to = Math.min(c.seqs().size(), from + 256);
                List<Tensor> out = new ArrayList<>();
                ForwardInput in = ForwardInput.of(PaddedBatch.right(c.seqs().subList(from, to), pad).ids());
                try (SiteHooks.Handle h = net.sites().record(layer, site, out)) {
                    // Layers above the one read are not run.
                    if (layer + 1 < net.numLayers()) net.prefix(in, layer + 1);
                    else net.hidden(in, null);
                }
                List<Long> mine = new ArrayList<>(), rows = new ArrayList<>(), pos = new ArrayList<>();
                for (int i = 0; i < seqs.size(); i++)
                    if (c.row()[i] >= from && c.row()[i] < to) {
                        mine.add((long) i);
                        rows.add(c.row()[i] - from);
                        pos.add(positions.get(i));
                    }
                Tensor picked = TokenPositions.gather(out.get(0), toLongs(rows), toLongs(pos)).toType(ScalarType.Float);
                if (result == null) result = Tensors.zeros(ScalarType.Float, seqs.size(), picked.size(1));
                result.index_copy_(0, Tensors.longs(toLongs(mine)), picked);
            }
        }
        return result;
    }

    private static long[] toLongs(List<Long> xs) {
        return xs.stream().mapToLong(Long::longValue).toArray();
    }

    /** A frozen cache of every context: its carrier's keys and values, masked after the context's own length. */
    private static KvCache contextCache(CausalLM net, long pad, Carriers carriers, List<long[]> contexts, KvCache full) {
        PaddedBatch batch = PaddedBatch.right(carriers.seqs(), pad);
        try (NoGradGuard g = new NoGradGuard()) {
            net.hidden(new ForwardInput(batch.ids(), null, batch.keyMask()), full);
        }
        int w = batch.width();
        float[] mask = new float[contexts.size() * w];
        for (int r = 0; r < contexts.size(); r++) for (int t = 0; t < contexts.get(r).length; t++) mask[r * w + t] = 1f;
        return full.rows(Tensors.longs(carriers.row()), Tensors.floats(mask).view(contexts.size(), w).gt(Tensors.scalar(0.5)));
    }

    /** Distinct sequences that carry the given ones: {@code row[i]} is the carrier whose tokens up to position i's are sequence i's. */
    record Carriers(List<long[]> seqs, long[] row) {
        static Carriers of(List<long[]> seqs, List<Long> positions) {
            Integer[] order = new Integer[seqs.size()];
            for (int i = 0; i < order.length; i++) order[i] = i;
            Arrays.sort(order, (a, b) -> Integer.compare(seqs.get(b).length, seqs.get(a).length));
            java.util.Map<List<Long>, Integer> prefixes = new java.util.HashMap<>();
            List<long[]> carriers = new ArrayList<>();
            long[] row = new long[seqs.size()];
            for (int i : order) {
                long[] s = seqs.get(i);
                Integer at = prefixes.get(tokens(s, (int) (long) positions.get(i) + 1));
                if (at == null) {
                    at = carriers.size();
                    carriers.add(s);
                    for (int len = 1; len <= s.length; len++) prefixes.putIfAbsent(tokens(s, len), at);
                }
                row[i] = at;
            }
            return new Carriers(carriers, row);
        }

        private static List<Long> tokens(long[] s, int len) {
            List<Long> out = new ArrayList<>(len);
            for (int i = 0; i < len; i++) out.add(s[i]);
            return out;
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
        // The layers below the edited one do not change: run them once.
        CausalLM.Prefix from = net.prefix(ForwardInput.of(PaddedBatch.right(seqs, pad).ids()), layer);
        long[] rows = rows(), pos = positions();
        double refNorm = Tensors.item(activation(layer, normReference).norm());
        Tensor essenceBase = null;
        CausalLM.Prefix essenceFrom = null;
        if (essence != null && vs.klFactor() > 0)
            try (NoGradGuard g = new NoGradGuard()) {
                essenceFrom = net.prefix(ForwardInput.of(Tensors.longs(essence, 1, essence.length)), layer);
                essenceBase = lastLogp(essenceFrom);
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
                    Tensor hid = net.hidden(from);
                    Tensor logp = net.logits(TokenPositions.gather(hid, tRows, tPos)).log_softmax(-1);
                    nll = logp.gather(1, Tensors.longs(tIds, tIds.length, 1)).mean().neg();
                }
                if (Tensors.item(nll) < 5e-2) break;
                Tensor loss = nll.add(delta.norm().div(Tensors.scalar(refNorm * refNorm)).mul(Tensors.scalar(vs.weightDecay())));
                if (essenceFrom != null) {
                    try (SiteHooks.Handle h = net.sites().add(layer, Site.MLP_OUT,
                            SiteHook.addAt(new long[] {0}, new long[] {essencePos}, delta))) {
                        Tensor now = lastLogp(essenceFrom);
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

    /**
     * The δ of each edit as {@link #optimiseDelta} finds it, for many edits at once. When every edit sits at its
     * prompts' last token and reads one target token there (the per-token edits of MEMIT and AlphaEdit), δ changes
     * nothing before that token: the context is run once into a frozen KV cache, and each Adam step runs only the
     * last token of every prompt of every edit in one batch, from the edited layer up. The δs are independent (each edit's loss depends on its
     * own δ, Adam works element by element, each δ is clamped on its own, and an edit whose NLL is under 0.05 stops
     * changing), so this finds what the edits' own optimisations find, about thirty times faster here. Other edits
     * are optimised one by one.
     */
    static List<Tensor> optimiseDeltas(List<EditPrompts> edits, int layer, Site normReference, ValueSettings vs) {
        boolean lastToken = edits.stream().allMatch(e -> e.essence == null && e.target.length == 1
                && java.util.stream.IntStream.range(0, e.prompts.size()).allMatch(i -> e.editPos[i] == e.prompts.get(i).length - 1 && e.editPos[i] > 0));
        if (!lastToken || edits.size() < 2) return edits.stream().map(e -> e.optimiseDelta(layer, normReference, vs)).toList();
        CausalLM net = edits.get(0).net;
        long pad = edits.get(0).pad;
        int n = edits.size();
        List<long[]> contexts = new ArrayList<>();
        List<Long> owners = new ArrayList<>(), lasts = new ArrayList<>(), targets = new ArrayList<>();
        float[] maxNorm = new float[n], decay = new float[n];
        float[] rowsPerEdit = new float[n];
        double[] refs = Tensors.toDoublesExact(activations(edits, layer, normReference).norm(
                new org.bytedeco.pytorch.ScalarOptional(Tensors.scalar(2)), new long[] {1}, false).toType(ScalarType.Double));
        for (int e = 0; e < n; e++) {
            EditPrompts ep = edits.get(e);
            double ref = refs[e];
            maxNorm[e] = (float) (vs.clamp() * ref);
            decay[e] = (float) (vs.weightDecay() / (ref * ref));
            rowsPerEdit[e] = ep.prompts.size();
            for (long[] p : ep.prompts) {
                contexts.add(Arrays.copyOf(p, p.length - 1));
                owners.add((long) e);
                lasts.add(p[p.length - 1]);
                targets.add(ep.target[0]);
            }
        }
        int rows = contexts.size();
        long[] owner = owners.stream().mapToLong(Long::longValue).toArray();
        long[] zeros = new long[rows], allRows = new long[rows];
        for (int r = 0; r < rows; r++) allRows[r] = r;
        Tensor ownerIdx = Tensors.longs(owner), counts = Tensors.floats(rowsPerEdit);
        Tensor lastIds = Tensors.longs(lasts.stream().mapToLong(Long::longValue).toArray(), rows, 1);
        Tensor targetIdx = Tensors.longs(targets.stream().mapToLong(Long::longValue).toArray(), rows, 1);
        Tensor decayT = Tensors.floats(decay), maxT = Tensors.floats(maxNorm);
        boolean[] done = new boolean[n];
        Tensor delta = Tensors.zeros(ScalarType.Float, n, net.config().hiddenSize()).set_requires_grad(true);
        Adam opt = new Adam(Tensors.vector(List.of(delta)), new AdamOptions(vs.lr()));
        // Each row's context is a prefix of the longest sequence of its request's prompt: run those once and give
        // every row its carrier's keys and values, masked after its own context.
        List<Long> ends = new ArrayList<>();
        for (long[] ctx : contexts) ends.add(ctx.length - 1L);
        Carriers carriers = Carriers.of(contexts, ends);
        try (KvCache full = new KvCache(net.numLayers()); KvCache cache = contextCache(net, pad, carriers, contexts, full)) {
            // The last token's way up to the edited layer does not change either: it is run once.
            CausalLM.Prefix from = net.prefix(ForwardInput.of(lastIds), layer, cache);
            for (int step = 0; step < vs.steps(); step++) {
                try (PointerScope scope = new PointerScope()) {
                    opt.zero_grad();
                    Tensor nll;
                    try (SiteHooks.Handle h = net.sites().add(layer, Site.MLP_OUT, SiteHook.addAt(allRows, zeros, delta.index_select(0, ownerIdx)))) {
                        Tensor logp = net.logits(net.hidden(from).select(1, 0)).log_softmax(-1);
                        Tensor rowNll = logp.gather(1, targetIdx).view(-1).neg();
                        nll = Tensors.zeros(ScalarType.Float, n).index_add(0, ownerIdx, rowNll.toType(ScalarType.Float)).div(counts);
                    }
                    double[] perEdit = Tensors.toDoublesExact(nll.detach().toType(ScalarType.Double));
                    boolean any = false;
                    for (int e = 0; e < n; e++) {
                        if (!done[e] && perEdit[e] < 5e-2) done[e] = true;
                        any |= !done[e];
                    }
                    if (!any) break;
                    Tensor frozen;
                    try (NoGradGuard g = new NoGradGuard()) {
                        frozen = delta.detach().clone();
                    }
                    Tensor norms = delta.norm(new org.bytedeco.pytorch.ScalarOptional(Tensors.scalar(2)), new long[] {1}, false);
                    nll.add(norms.mul(decayT)).sum().backward();
                    opt.step();
                    try (NoGradGuard g = new NoGradGuard()) {
                        float[] flags = new float[n];
                        for (int e = 0; e < n; e++) flags[e] = done[e] ? 1f : 0f;
                        Tensor keep = Tensors.floats(flags).view(n, 1).gt(Tensors.scalar(0.5));
                        Tensor now = delta.where(keep.logical_not(), frozen);
                        Tensor len = now.norm(new org.bytedeco.pytorch.ScalarOptional(Tensors.scalar(2)), new long[] {1}, true);
                        Tensor scale = maxT.view(n, 1).div(len).clamp_max(Tensors.scalar(1.0));
                        delta.copy_(now.mul(scale.where(keep.logical_not(), Tensors.ones(ScalarType.Float, n, 1))));
                    }
                }
            }
        }
        List<Tensor> out = new ArrayList<>();
        Tensor d = delta.detach();
        for (int e = 0; e < n; e++) out.add(d.select(0, e));
        return out;
    }

    private Tensor lastLogp(CausalLM.Prefix p) {
        Tensor hid = net.hidden(p);
        return net.logits(hid.select(1, hid.size(1) - 1)).log_softmax(-1).view(-1);
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
