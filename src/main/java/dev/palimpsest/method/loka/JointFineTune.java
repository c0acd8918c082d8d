package dev.palimpsest.method.loka;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.bytedeco.pytorch.Tensor;


import dev.palimpsest.UserError;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.request.KnowledgeRequest;
import dev.palimpsest.method.Setting;
import dev.palimpsest.method.Settings;
import dev.palimpsest.method.TrainingLoop;
import dev.palimpsest.method.Update;
import dev.palimpsest.method.UpdateMethod;
import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.model.Scorer;
import dev.palimpsest.tensor.Tensors;
import dev.palimpsest.train.ModelScale;

/**
 * The usual way to edit and forget in one update, and LOKA's baseline: fine-tune one set of weights on the sum of
 * the editing loss (NLL of the new targets) and the unlearning loss ({@code forget_loss}: npo, ga or refusal) over
 * mixed batches of the requests, plus {@code retain_weight} × a retention term ({@code retain}: none; nll, the
 * retain set's answers, as GD does; kl, KL from the base model on them). All weights, or one LoRA on every linear
 * layer but the output head ({@code lora_rank} > 0, merged at the end), so "single LoRA" is this method with the
 * same losses as LOKA's memories. Defaults: npo, retain none, epochs 10, batch 4, lr 5e-4 below 50M parameters
 * else 1e-5, gradient clipping at 1.
 */
public final class JointFineTune implements UpdateMethod {
    @Override
    public String name() {
        return "joint";
    }

    @Override
    public String description() {
        return "fine-tune one set of weights on the summed editing and unlearning losses (forget_loss=npo|ga|refusal, "
                + "retain=none|nll|kl, retain_weight=1, epochs=10, batch=4, lr=5e-4 small / 1e-5 large, lora_rank=0: all weights)";
    }

    @Override
    public List<Setting> settings() {
        return List.of(Setting.oneOf("forget_loss", "npo", "ga", "refusal"), Setting.oneOf("retain", "none", "nll", "kl"),
                Setting.nonNegative("retain_weight"), Setting.positive("beta"), Setting.atLeast("epochs", 1), Setting.atLeast("batch", 1),
                Setting.atLeast("lora_rank", 0), Setting.learningRate("lr"));
    }

    @Override
    public Update apply(LanguageModel m, QuestionFormat format, List<KnowledgeRequest> requests, List<QaItem> retain,
            Map<String, String> given, long seed) {
        long t0 = System.nanoTime();
        Settings s = new Settings(this, given);
        UpdateLosses.Unlearning forget = UpdateLosses.Unlearning.parse(name(), s.text("forget_loss", "npo"));
        String retainKind = s.text("retain", "none");
        double retainWeight = s.real("retain_weight", 1.0), beta = s.real("beta", 0.1);
        int epochs = s.integer("epochs", 10), batch = s.integer("batch", 4), rank = s.integer("lora_rank", 0);
        CausalLM net = m.net();
        double lr = s.real("lr", ModelScale.lr(net, 5e-4, 1e-5));
        Map<String, Object> resolved = s.resolved();
        if (requests.isEmpty()) throw new UserError("joint: no requests");
        if (!retainKind.equals("none") && retain.isEmpty()) throw new UserError("joint: retain=" + retainKind + " needs a retain set");

        var tok = m.tokenizer();
        long pad = tok.padId();
        List<UpdateLosses.Example> all = new ArrayList<>();
        for (KnowledgeRequest r : requests) all.add(UpdateLosses.example(r, tok, format));
        double[] ref = UpdateLosses.forgetReference(net, pad, all);
        RetainReference kl = retainKind.equals("kl") ? RetainReference.of(net, tok, format, retain, seed) : null;
        List<long[]> rp = new ArrayList<>(), ra = new ArrayList<>();
        if (retainKind.equals("nll"))
            for (QaItem q : retain) {
                rp.add(tok.encodePrompt(format.prompt(q.question())));
                ra.add(format.answerIds(tok, q.answer()));
            }

        // Mixed batches of edits and forgets in a seeded order each epoch; the retain term cycles through its own order.
        Random rnd = new Random(seed);
        List<Integer> order = new ArrayList<>(), rOrder = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) order.add(i);
        for (int i = 0; i < Math.max(rp.size(), kl == null ? 0 : kl.size()); i++) rOrder.add(i);
        List<TrainingLoop.Step<Mixed>> steps = new ArrayList<>();
        int rStep = 0;
        for (int epoch = 0; epoch < epochs; epoch++) {
            Collections.shuffle(order, rnd);
            for (int start = 0; start < order.size(); start += batch) {
                List<Integer> edits = new ArrayList<>(), forgets = new ArrayList<>();
                for (int i : order.subList(start, Math.min(order.size(), start + batch)))
                    (all.get(i).request().kind() == KnowledgeRequest.Kind.EDIT ? edits : forgets).add(i);
                List<Integer> rb = !rOrder.isEmpty() && retainWeight > 0 ? UpdateLosses.cyclic(rOrder, rStep++, batch) : List.of();
                steps.add(new TrainingLoop.Step<>(epoch, new Mixed(edits, forgets, rb)));
            }
        }
        try {
            return TrainingLoop.run(this, m, resolved, rank, true, lr, seed, steps, b -> {
                Tensor loss = Tensors.zeros(org.bytedeco.pytorch.global.torch.ScalarType.Float);
                if (!b.edits().isEmpty()) loss = loss.add(UpdateLosses.editLoss(net, all, b.edits(), pad));
                if (!b.forgets().isEmpty()) loss = loss.add(UpdateLosses.forgetLoss(net, all, b.forgets(), ref, forget, beta, pad));
                if (!b.retain().isEmpty()) {
                    Tensor r = kl != null ? kl.kl(net, b.retain(), pad)
                            : Scorer.targetLogprobs(net, ModelScale.pick(rp, b.retain()), ModelScale.pick(ra, b.retain()), pad).mean().neg();
                    loss = loss.add(r.mul(Tensors.scalar(retainWeight)));
                }
                return loss;
            }, t0);
        } finally {
            if (kl != null) kl.release();
        }
    }

    /** One step's examples: the edits and forgets of the batch, and the retain examples beside them. */
    private record Mixed(List<Integer> edits, List<Integer> forgets, List<Integer> retain) {}

}
