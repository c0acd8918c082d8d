package dev.palimpsest.method.loka;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import dev.palimpsest.UserError;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.io.Progress;
import dev.palimpsest.method.KnowledgeRequest;
import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.LoraAdapter;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.model.Scorer;
import dev.palimpsest.tensor.Tensors;
import dev.palimpsest.train.Lora;
import dev.palimpsest.train.Optimizers;
import dev.palimpsest.train.QaFineTuner;
import me.tongfei.progressbar.ProgressBar;

/**
 * LOKA's motivating measurement (its Figure 1): train one shared LoRA memory on an editing loss and an unlearning
 * loss at once (their sum, as plain joint fine-tuning does) for an epoch, and at every step record the cosine between
 * the two losses' gradients with respect to the memory's parameters. Editing: NLL of the new targets. Unlearning:
 * NPO (β) against the model before training. The memory is removed afterwards; the model is left as it was.
 */
public final class ConflictAnalysis {
    /** How the joint training runs. */
    public record Settings(int batchSize, double lr, int rank, double beta, int epochs, long seed) {}

    /** The cosine at each step and the share of steps where it is negative. */
    public record Result(double[] cosines) {
        public double negativeShare() {
            int n = 0;
            for (double c : cosines) if (c < 0) n++;
            return cosines.length == 0 ? 0 : n / (double) cosines.length;
        }

        public double mean() {
            double s = 0;
            for (double c : cosines) s += c;
            return cosines.length == 0 ? 0 : s / cosines.length;
        }
    }

    private ConflictAnalysis() {}

    public static Result run(LanguageModel m, QuestionFormat format, List<KnowledgeRequest> edits, List<QaItem> forget, Settings s) {
        if (edits.isEmpty() || forget.isEmpty()) throw new UserError("analyze conflicts: needs both edit and forget requests");
        if (s.batchSize() < 1 || s.epochs() < 1 || s.rank() < 1) throw new UserError("analyze conflicts: batch size, epochs and rank must be at least 1");
        CausalLM net = m.net();
        var tok = m.tokenizer();
        List<long[]> ep = new ArrayList<>(), et = new ArrayList<>(), fp = new ArrayList<>(), fa = new ArrayList<>();
        for (KnowledgeRequest r : edits) {
            ep.add(tok.encodePrompt(format.prompt(r.question())));
            et.add(QaFineTuner.answerIds(tok, format, r.target()));
        }
        for (QaItem q : forget) {
            fp.add(tok.encodePrompt(format.prompt(q.question())));
            fa.add(QaFineTuner.answerIds(tok, format, q.answer()));
        }
        long pad = tok.padId();
        double[] reference = new double[fp.size()];
        try (NoGradGuard g = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            List<Scorer.Scored> sc = Scorer.scoreIds(net, fp, fa, 8, pad);
            for (int i = 0; i < reference.length; i++) reference[i] = sc.get(i).sum();
        }
        Set<String> downs = new HashSet<>();
        for (int l = 0; l < net.numLayers(); l++) downs.add(net.downProjection(l));
        List<LoraAdapter> adapters = Lora.attach(net, downs::contains, s.rank(), 2.0 * s.rank(), s.seed());
        List<Tensor> params = Lora.parameters(adapters);
        Optimizer opt = Optimizers.adamW(params, s.lr(), 0);
        int steps = (int) Math.ceil(Math.max(ep.size(), fp.size()) / (double) s.batchSize());
        Random rnd = new Random(s.seed());
        List<Double> cos = new ArrayList<>();
        try (ProgressBar bar = Progress.bar("conflict steps", (long) steps * s.epochs())) {
            for (int epoch = 0; epoch < s.epochs(); epoch++) {
                List<Integer> eo = order(ep.size(), rnd), fo = order(fp.size(), rnd);
                for (int step = 0; step < steps; step++) {
                    try (PointerScope scope = new PointerScope()) {
                        List<Integer> ei = cyclic(eo, step, s.batchSize()), fi = cyclic(fo, step, s.batchSize());
                        Tensor editLoss = Scorer.targetLogprobs(net, pick(ep, ei), pick(et, ei), pad).mean().neg();
                        Tensor ge = GradientConflict.gradient(editLoss, params);
                        Tensor gf = GradientConflict.gradient(npo(net, pick(fp, fi), pick(fa, fi), fi, reference, s.beta(), pad), params);
                        cos.add(GradientConflict.cosine(ge, gf));
                        setGradients(params, ge.add(gf));
                        opt.step();
                    }
                    bar.step();
                }
            }
        } finally {
            Lora.detachAll(net);
        }
        return new Result(cos.stream().mapToDouble(Double::doubleValue).toArray());
    }

    /** NPO: (2/β) · mean softplus(β · (log π(answer) − log π_ref(answer))). */
    static Tensor npo(CausalLM net, List<long[]> prompts, List<long[]> answers, List<Integer> idx, double[] reference, double beta, long pad) {
        Tensor seq = Scorer.sequenceLogprobs(net, prompts, answers, pad);
        float[] ref = new float[answers.size()];
        for (int i = 0; i < ref.length; i++) ref[i] = (float) reference[idx.get(i)];
        return torch.softplus(seq.sub(Tensors.floats(ref, ref.length)).mul(Tensors.scalar(beta))).mean().mul(Tensors.scalar(2 / beta));
    }

    private static void setGradients(List<Tensor> params, Tensor flat) {
        try (NoGradGuard g = new NoGradGuard()) {
            long at = 0;
            for (Tensor p : params) {
                long n = p.numel();
                p.grad().copy_(Tensors.slice(flat, 0, at, at + n).view(p.sizes()).toType(Tensors.dtype(p)));
                at += n;
            }
        }
    }

    private static List<Integer> order(int n, Random rnd) {
        List<Integer> o = new ArrayList<>();
        for (int i = 0; i < n; i++) o.add(i);
        Collections.shuffle(o, rnd);
        return o;
    }

    /** The step's batch of a list shorter than the epoch: it wraps around. */
    private static List<Integer> cyclic(List<Integer> order, int step, int batch) {
        List<Integer> out = new ArrayList<>();
        for (int j = 0; j < Math.min(batch, order.size()); j++) out.add(order.get((step * batch + j) % order.size()));
        return out;
    }

    private static List<long[]> pick(List<long[]> all, List<Integer> idx) {
        List<long[]> out = new ArrayList<>();
        for (int i : idx) out.add(all.get(i));
        return out;
    }
}
