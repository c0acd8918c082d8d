package dev.palimpsest.method;

import dev.palimpsest.request.KnowledgeRequest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;


import dev.palimpsest.UserError;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.model.Scorer;
import dev.palimpsest.model.Tokenizer;
import dev.palimpsest.tensor.Tensors;
import dev.palimpsest.train.ModelScale;
import dev.palimpsest.train.QaFineTuner;

/**
 * The shared loop of the training-based unlearning methods: per step, a batch of forget requests and
 * a batch of retain questions (cycled), a method-specific loss, AdamW with a constant rate, gradient
 * clipping at 1. Full weights, or LoRA adapters (setting {@code lora_rank}) merged at the end (unless
 * {@code lora_merge=false}: they stay attached, frozen, to be exported as a PEFT adapter).
 * Reference quantities of the frozen original model are computed once, before the first step.
 * Defaults: epochs 5 (10 for IDK and DPO, which must learn a new answer), batch 8, lr 5e-4 below
 * 50M parameters else 1e-5 (the papers' 2e-5 scale), retain_weight 1 (0 for GA), beta 0.1, lora_rank 0.
 */
public abstract class TrainedUnlearning implements UpdateMethod {
    /** The setting that keeps LoRA adapters attached instead of merging them (for exporting them as a PEFT adapter). */
    public static final String LORA_MERGE = "lora_merge";


    /** One step's data: forget prompts with their answers and refusals, retain prompts with answers. */
    protected record Batch(List<long[]> prompts, List<long[]> answers, List<long[]> refusals, List<Integer> index,
            List<long[]> retainPrompts, List<long[]> retainAnswers, List<Integer> retainIndex) {}

    /** Everything a loss may read: the model, the pad id, and the reference model's values. */
    protected record Context(CausalLM net, long pad, double beta, double retainWeight, double refusalWeight,
            Reference reference) {}

    /** The frozen original model's values, per example, computed before training. */
    protected record Reference(double[] answerLogp, double[] refusalLogp, List<Tensor> retainLogp) {}

    /** The method's loss on one batch (to be minimised). */
    protected abstract Tensor loss(Batch b, Context c);

    /** Which reference values this method needs. */
    /** The weight of a refusal-NLL term, for methods that declare one (DPO); 0 elsewhere. */
    protected double refusalWeight(Settings s) {
        return 0;
    }

    protected boolean needsSequenceReference() {
        return false;
    }

    protected boolean needsRetainDistributions() {
        return false;
    }

    protected double defaultRetainWeight() {
        return 1;
    }

    protected int defaultEpochs() {
        return 5;
    }

    @Override
    public List<Setting> settings() {
        return List.of(Setting.atLeast("epochs", 1), Setting.atLeast("batch", 1), Setting.atLeast("lora_rank", 0), Setting.learningRate("lr"),
                Setting.nonNegative("retain_weight"), Setting.positive("beta"), Setting.oneOf(LORA_MERGE, "true", "false"));
    }

    @Override
    public Update apply(LanguageModel m, QuestionFormat format, List<KnowledgeRequest> requests, List<QaItem> retain,
            Map<String, String> given, long seed) {
        long t0 = System.nanoTime();
        Settings s = new Settings(this, given);
        int epochs = s.integer("epochs", defaultEpochs()), batch = s.integer("batch", 8), rank = s.integer("lora_rank", 0);
        boolean mergeLora = !s.text(LORA_MERGE, "true").equals("false");
        double lr = s.real("lr", defaultLr(m));
        double retainWeight = s.real("retain_weight", defaultRetainWeight());
        double beta = s.real("beta", 0.1);
        double refusalWeight = refusalWeight(s);
        Map<String, Object> resolved = s.resolved();
        if (requests.isEmpty()) throw new UserError(name() + ": no forget requests");
        if (requests.stream().anyMatch(r -> r.kind() != KnowledgeRequest.Kind.FORGET))
            throw new UserError(name() + " unlearns: it takes forget requests only (use ft for edits)");
        if (retainWeight > 0 && retain.isEmpty()) throw new UserError(name() + ": needs a retain set (or retain_weight=0)");

        Tokenizer tok = m.tokenizer();
        List<long[]> prompts = new ArrayList<>(), answers = new ArrayList<>(), refusals = new ArrayList<>();
        for (KnowledgeRequest r : requests) {
            prompts.add(tok.encodePrompt(format.prompt(r.question())));
            answers.add(tok.encode(format.answer(r.answer())));
            refusals.add(format.answerIds(tok, r.target()));
        }
        List<long[]> rPrompts = new ArrayList<>(), rAnswers = new ArrayList<>();
        for (QaItem q : retain) {
            var e = QaFineTuner.example(tok, format, q.question(), q.answer());
            rPrompts.add(e.prompt());
            rAnswers.add(e.target());
        }
        CausalLM net = m.net();
        Reference ref = reference(net, tok.padId(), prompts, answers, refusals, rPrompts, rAnswers, retainWeight);
        Context ctx = new Context(net, tok.padId(), beta, retainWeight, refusalWeight, ref);
        // Batches of forget questions in a seeded order each epoch, each with as many retain questions, cycling.
        Random rnd = new Random(seed);
        List<Integer> order = new ArrayList<>(), rOrder = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) order.add(i);
        for (int i = 0; i < rPrompts.size(); i++) rOrder.add(i);
        List<TrainingLoop.Step<Batch>> steps = new ArrayList<>();
        int rCursor = 0;
        for (int epoch = 0; epoch < epochs; epoch++) {
            Collections.shuffle(order, rnd);
            for (int start = 0; start < order.size(); start += batch) {
                List<Integer> idx = List.copyOf(order.subList(start, Math.min(order.size(), start + batch)));
                List<Integer> rIdx = new ArrayList<>();
                for (int k = 0; k < batch && !rOrder.isEmpty() && retainWeight > 0; k++) {
                    if (rCursor % rOrder.size() == 0) Collections.shuffle(rOrder, rnd);
                    rIdx.add(rOrder.get(rCursor++ % rOrder.size()));
                }
                steps.add(new TrainingLoop.Step<>(epoch, new Batch(ModelScale.pick(prompts, idx), ModelScale.pick(answers, idx),
                        ModelScale.pick(refusals, idx), idx, ModelScale.pick(rPrompts, rIdx), ModelScale.pick(rAnswers, rIdx), rIdx)));
            }
        }
        return TrainingLoop.run(this, m, resolved, rank, mergeLora, lr, seed, steps, b -> loss(b, ctx), t0);
    }

    /**
     * 5e-4 for small models such as the built-in one (measured there: 1e-4 hardly forgets, 1e-3 makes
     * GA, GD and NPO wreck the retain set), 1e-5 for large ones.
     */
    static double defaultLr(LanguageModel m) {
        return ModelScale.lr(m.net(), 5e-4, 1e-5);
    }

    private Reference reference(CausalLM net, long pad, List<long[]> prompts, List<long[]> answers,
            List<long[]> refusals, List<long[]> rPrompts, List<long[]> rAnswers, double retainWeight) {
        double[] a = null, r = null;
        List<Tensor> dist = null;
        try (NoGradGuard g = new NoGradGuard()) {
            if (needsSequenceReference()) {
                a = sums(Scorer.scoreIds(net, prompts, answers, 16, pad));
                r = sums(Scorer.scoreIds(net, prompts, refusals, 16, pad));
            }
            if (needsRetainDistributions() && retainWeight > 0) {
                dist = new ArrayList<>();
                for (int i = 0; i < rPrompts.size(); i++) {
                    try (PointerScope scope = new PointerScope()) {
                        Tensor d = Scorer.targetDistributions(net, List.of(rPrompts.get(i)), List.of(rAnswers.get(i)), pad);
                        d.retainReference();
                        dist.add(d);
                    }
                }
            }
        }
        return new Reference(a, r, dist);
    }

    private static double[] sums(List<Scorer.Scored> s) {
        return s.stream().mapToDouble(Scorer.Scored::sum).toArray();
    }


    // ---- building blocks of the losses ----

    /** Mean log-probability of the tokens of the targets (a token-level mean over the batch). */
    protected static Tensor meanLogprob(Context c, List<long[]> prompts, List<long[]> targets) {
        return Scorer.targetLogprobs(c.net(), prompts, targets, c.pad()).mean();
    }

    /** log P(target | prompt) per example: [batch]. */
    protected static Tensor sequenceLogprob(Context c, List<long[]> prompts, List<long[]> targets) {
        return Scorer.sequenceLogprobs(c.net(), prompts, targets, c.pad());
    }

    /** The reference values of the batch's examples, as a tensor. */
    protected static Tensor referenceOf(double[] values, List<Integer> idx) {
        float[] f = new float[idx.size()];
        for (int i = 0; i < f.length; i++) f[i] = (float) values[idx.get(i)];
        return Tensors.floats(f);
    }

    /** The retain term: negative log-likelihood of the retain answers, weighted (0 when there is none). */
    protected static Tensor retainNll(Batch b, Context c) {
        if (b.retainPrompts().isEmpty() || c.retainWeight() == 0) return Tensors.zeros(org.bytedeco.pytorch.global.torch.ScalarType.Float);
        return meanLogprob(c, b.retainPrompts(), b.retainAnswers()).neg().mul(Tensors.scalar(c.retainWeight()));
    }
}
