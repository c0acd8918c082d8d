package dev.palimpsest.method;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import dev.palimpsest.UserError;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.Tokenizer;
import dev.palimpsest.request.KnowledgeRequest;
import dev.palimpsest.tensor.Tensors;
import dev.palimpsest.train.ModelScale;

/**
 * A fine-tuning update defined by its loss terms ({@link LossTerms}) and defaults: the unlearning baselines (GA, GD,
 * KL, NPO, IDK, DPO) and joint fine-tuning are registrations of this class, as open-unlearning composes GradDiff or
 * NPO from a forget loss and a retain-loss option. Per step: a batch of requests (forgets, and edits where the
 * recipe takes them, in a seeded order each epoch) and a batch of as many retain questions (cycled, reshuffled at
 * each pass); loss = edit NLL + forget term + retain_weight × retain term, run by {@link TrainingLoop} on all
 * weights or on LoRA adapters ({@code lora_rank}).
 */
public final class TrainedUpdate implements UpdateMethod {
    /** The setting that keeps LoRA adapters attached instead of merging them (for exporting them as a PEFT adapter). */
    public static final String LORA_MERGE = "lora_merge";

    /**
     * One method's terms and defaults. {@code forget}: the forgetting term, or null when it is the setting
     * {@code forget_loss} (default {@code forgetDefault}); {@code edits}: whether edit requests are accepted.
     */
    public record Recipe(String name, String description, LossTerms.Forget forget, LossTerms.Forget forgetDefault, boolean edits,
            LossTerms.Retain retain, double retainWeight, int epochs, int batch) {
        /** An unlearning baseline: a fixed forgetting term, forget requests only, batches of 8. */
        public static Recipe unlearning(String name, String description, LossTerms.Forget forget, LossTerms.Retain retain, double retainWeight, int epochs) {
            return new Recipe(name, description, forget, null, false, retain, retainWeight, epochs, 8);
        }
    }

    private final Recipe recipe;

    public TrainedUpdate(Recipe recipe) {
        this.recipe = recipe;
    }

    @Override
    public String name() {
        return recipe.name();
    }

    @Override
    public String description() {
        return recipe.description();
    }

    @Override
    public List<Setting> settings() {
        List<Setting> s = new ArrayList<>();
        if (recipe.forget() == null)
            s.add(Setting.oneOf("forget_loss", "npo", "ga", "refusal").is(recipe.forgetDefault().word(), "the forgetting term"));
        s.addAll(List.of(Setting.oneOf("retain", "none", "nll", "kl").is(recipe.retain().word(), "the retention term on the retain set"),
                Setting.nonNegative("retain_weight").is(recipe.retainWeight(), "its weight"),
                Setting.atLeast("epochs", 1).is(recipe.epochs(), "passes over the requests"),
                Setting.atLeast("batch", 1).is(recipe.batch(), "requests (and as many retain questions) per step"),
                Setting.learningRate("lr").rule("5e-4 below 50M parameters, else 1e-5", "AdamW rate"),
                Setting.nonNegative("weight_decay").is(0.0, "AdamW weight decay"),
                Setting.nonNegative("warmup_epochs").is(0.0, "epochs of linear warm-up from 0 to lr"),
                Setting.oneOf("lr_schedule", "constant", "linear").is("constant", "after the warm-up: constant, or falling linearly to 0"),
                Setting.atLeast("lora_rank", 0).is(0, "0: all weights; else LoRA of this rank on every linear layer but the head"),
                Setting.flag(LORA_MERGE).is("true", "merge the adapters into the weights at the end; false keeps them for --adapter-out")));
        if (recipe.forget() == null || recipe.forget() == LossTerms.Forget.NPO || recipe.forget() == LossTerms.Forget.DPO)
            s.add(Setting.positive("beta").is(0.1, "NPO's and DPO's inverse temperature"));
        if (recipe.forget() == LossTerms.Forget.DPO)
            s.add(Setting.nonNegative("refusal_weight").is(0.0, "weight of the refusal NLL added to DPO (0: plain DPO, as open-unlearning)"));
        return s;
    }

    /** One step's examples: the requests of the batch (edits and forgets) and the retain questions beside them. */
    private record Batch(List<Integer> edits, List<Integer> forgets, List<Integer> retain) {}

    @Override
    public Undo update(UpdateRun run) {
        Settings s = run.settings();
        LanguageModel m = run.model();
        CausalLM net = m.net();
        LossTerms.Forget forget = recipe.forget() != null ? recipe.forget() : LossTerms.Forget.parse(s.text("forget_loss"));
        LossTerms.Retain retainKind = LossTerms.Retain.parse(s.text("retain"));
        double retainWeight = s.real("retain_weight");
        double beta = forget == LossTerms.Forget.NPO || forget == LossTerms.Forget.DPO ? s.real("beta") : 0;
        int epochs = s.integer("epochs"), batch = s.integer("batch"), rank = s.integer("lora_rank");
        double lr = s.real("lr", ModelScale.lr(net, 5e-4, 1e-5));
        boolean mergeLora = s.flag(LORA_MERGE);
        double refusalWeight = forget == LossTerms.Forget.DPO ? s.real("refusal_weight") : 0;
        if (run.requests().isEmpty()) throw new UserError(name() + ": no requests");
        if (!recipe.edits() && run.requests().stream().anyMatch(r -> r.kind() != KnowledgeRequest.Kind.FORGET))
            throw new UserError(name() + " unlearns: it takes forget requests only (use ft or joint for edits)");
        boolean retaining = retainKind != LossTerms.Retain.NONE && retainWeight > 0;
        if (retaining && run.retain().isEmpty())
            throw new UserError(name() + ": retain=" + retainKind.word() + " needs a retain set (or retain_weight=0)");

        Tokenizer tok = m.tokenizer();
        long pad = tok.padId();
        List<LossTerms.Example> all = LossTerms.examples(run.requests(), tok, run.format());
        LossTerms.Reference ref = LossTerms.Reference.of(net, pad, all, forget);
        List<long[]> rPrompts = new ArrayList<>(), rAnswers = new ArrayList<>();
        if (retaining)
            for (QaItem q : run.retain()) {
                rPrompts.add(run.format().promptIds(tok, q.question()));
                rAnswers.add(run.format().answerIds(tok, q.answer()));
            }
        RetainDistributions kl = retaining && retainKind == LossTerms.Retain.KL ? RetainDistributions.of(net, rPrompts, rAnswers, pad) : null;

        // Batches of requests in a seeded order each epoch, each with as many retain questions, cycling.
        Random rnd = new Random(run.seed());
        List<Integer> order = new ArrayList<>(), rOrder = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) order.add(i);
        for (int i = 0; i < rPrompts.size(); i++) rOrder.add(i);
        List<TrainingLoop.Step<Batch>> steps = new ArrayList<>();
        int rCursor = 0;
        for (int epoch = 0; epoch < epochs; epoch++) {
            Collections.shuffle(order, rnd);
            for (int start = 0; start < order.size(); start += batch) {
                List<Integer> edits = new ArrayList<>(), forgets = new ArrayList<>(), rIdx = new ArrayList<>();
                for (int i : order.subList(start, Math.min(order.size(), start + batch))) (all.get(i).edit() ? edits : forgets).add(i);
                for (int k = 0; k < batch && !rOrder.isEmpty(); k++) {
                    if (rCursor % rOrder.size() == 0) Collections.shuffle(rOrder, rnd);
                    rIdx.add(rOrder.get(rCursor++ % rOrder.size()));
                }
                steps.add(new TrainingLoop.Step<>(epoch, new Batch(edits, forgets, rIdx)));
            }
        }
        try {
            int perEpoch = (all.size() + batch - 1) / batch;
            TrainingLoop.Rate rate = new TrainingLoop.Rate(lr, s.real("weight_decay"), (int) Math.round(s.real("warmup_epochs") * perEpoch),
                    s.text("lr_schedule").equals("linear"));
            return TrainingLoop.run(name(), m, rank, mergeLora, rate, run.seed(), steps, b -> {
                Tensor loss = Tensors.zeros(ScalarType.Float);
                if (!b.edits().isEmpty()) loss = loss.add(LossTerms.edit(net, all, b.edits(), pad));
                if (!b.forgets().isEmpty()) loss = loss.add(LossTerms.forget(net, all, b.forgets(), ref, forget, beta, refusalWeight, pad));
                if (!b.retain().isEmpty()) {
                    Tensor r = kl != null ? kl.kl(net, b.retain(), pad)
                            : LossTerms.retainNll(net, ModelScale.pick(rPrompts, b.retain()), ModelScale.pick(rAnswers, b.retain()), pad);
                    loss = loss.add(r.mul(Tensors.scalar(retainWeight)));
                }
                return loss;
            });
        } finally {
            if (kl != null) kl.release();
        }
    }
}
