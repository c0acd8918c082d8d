package dev.palimpsest.method.loka;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.Tensor;

import dev.palimpsest.UserError;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.io.Progress;
import dev.palimpsest.request.KnowledgeRequest;
import dev.palimpsest.request.Requests;
import dev.palimpsest.method.LossTerms;
import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.LoraAdapter;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.train.Lora;
import dev.palimpsest.train.Optimizers;
import me.tongfei.progressbar.ProgressBar;

/**
 * LOKA's motivating measurement (its Figure 1): train one shared LoRA memory on an editing loss and an unlearning
 * loss at once (their sum, as plain joint fine-tuning does) for an epoch, and at every step record the cosine between
 * the two losses' gradients with respect to the memory's parameters. Editing: NLL of the new targets. Unlearning:
 * the chosen forgetting term (NPO with β against the model before training, gradient ascent, or NLL of a template
 * refusal). The memory is removed afterwards; the model is left as it was.
 */
public final class ConflictAnalysis {
    /** How the joint training runs. */
    public record Settings(int batchSize, double lr, int rank, LossTerms.Forget forget, double beta, int epochs, long seed) {}

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
        long pad = m.tokenizer().padId();
        // Edits first, then the forget facts as forget requests: one example list for the shared losses.
        List<LossTerms.Example> all = new ArrayList<>();
        for (KnowledgeRequest r : edits) all.add(LossTerms.example(r, m.tokenizer(), format));
        for (KnowledgeRequest r : Requests.forget(forget, "template", 1, s.seed(), m, format)) all.add(LossTerms.example(r, m.tokenizer(), format));
        int e = edits.size(), f = forget.size();
        LossTerms.Reference reference = LossTerms.Reference.of(net, pad, all, s.forget());
        Set<String> downs = new HashSet<>();
        for (int l = 0; l < net.numLayers(); l++) downs.add(net.downProjection(l));
        List<LoraAdapter> adapters = Lora.attach(net, downs::contains, s.rank(), 2.0 * s.rank(), s.seed());
        List<Tensor> params = Lora.parameters(adapters);
        Optimizer opt = Optimizers.adamW(params, s.lr(), 0);
        int steps = (int) Math.ceil(Math.max(e, f) / (double) s.batchSize());
        Random rnd = new Random(s.seed());
        List<Double> cos = new ArrayList<>();
        try (ProgressBar bar = Progress.bar("conflict steps", (long) steps * s.epochs())) {
            for (int epoch = 0; epoch < s.epochs(); epoch++) {
                List<Integer> eo = order(0, e, rnd), fo = order(e, f, rnd);
                for (int step = 0; step < steps; step++) {
                    try (PointerScope scope = new PointerScope()) {
                        List<Integer> ei = GradientConflict.cyclic(eo, step, s.batchSize()), fi = GradientConflict.cyclic(fo, step, s.batchSize());
                        Tensor ge = GradientConflict.gradient(LossTerms.edit(net, all, ei, pad), params);
                        Tensor gf = GradientConflict.gradient(LossTerms.forget(net, all, fi, reference, s.forget(), s.beta(), 0, pad), params);
                        cos.add(GradientConflict.cosine(ge, gf));
                        GradientConflict.setGradients(params, ge.add(gf));
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

    /** The indices from, from + 1, …, from + n − 1 in a random order. */
    private static List<Integer> order(int from, int n, Random rnd) {
        List<Integer> o = new ArrayList<>();
        for (int i = 0; i < n; i++) o.add(from + i);
        Collections.shuffle(o, rnd);
        return o;
    }
}
