package dev.palimpsest.method.loka;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import dev.palimpsest.UserError;
import dev.palimpsest.request.KnowledgeRequest;
import dev.palimpsest.method.LossTerms;
import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.model.Scorer;
import dev.palimpsest.model.Tokenizer;
import dev.palimpsest.tensor.Tensors;

/** The editing and unlearning losses that LOKA's memories and the joint fine-tuning baseline train on, over request batches. */
final class UpdateLosses {
    private UpdateLosses() {}

    /** One request as token ids: an edit's prompt and target, or a forget's prompt, old answer and refusal. */
    record Example(KnowledgeRequest request, long[] prompt, long[] target, long[] refusal) {}

    static Example example(KnowledgeRequest r, Tokenizer tok, QuestionFormat format) {
        long[] prompt = tok.encodePrompt(format.prompt(r.question()));
        if (r.kind() == KnowledgeRequest.Kind.EDIT) return new Example(r, prompt, format.answerIds(tok, r.target()), null);
        if (r.answer() == null) throw new UserError("forget request '" + r.question() + "' has no answer to forget");
        return new Example(r, prompt, format.answerIds(tok, r.answer()),
                r.target() == null ? null : format.answerIds(tok, r.target()));
    }

    /** The editing loss of a batch of edits: NLL of the targets' tokens. */
    static Tensor editLoss(CausalLM net, List<Example> all, List<Integer> batch, long pad) {
        return Scorer.targetLogprobs(net, pick(all, batch, Example::prompt), pick(all, batch, Example::target), pad).mean().neg();
    }

    /** How forgetting is trained: NPO against the base model, gradient ascent on the answer, or the refusal's NLL. */
    enum Unlearning {
        NPO, GA, REFUSAL;

        static Unlearning parse(String method, String s) {
            for (Unlearning u : values()) if (u.name().equalsIgnoreCase(s)) return u;
            throw new UserError(method + ": forget_loss must be npo, ga or refusal, got '" + s + "'");
        }
    }

    /** The unlearning loss of a batch of forgets ({@code ref}: the base model's log p(answer), for NPO). */
    static Tensor forgetLoss(CausalLM net, List<Example> all, List<Integer> batch, double[] ref, Unlearning kind, double beta, long pad) {
        if (kind == Unlearning.REFUSAL) {
            for (int i : batch) if (all.get(i).refusal() == null) throw new UserError("forget_loss=refusal needs a refusal target for '" + all.get(i).request().question() + "'");
            return Scorer.targetLogprobs(net, pick(all, batch, Example::prompt), pick(all, batch, Example::refusal), pad).mean().neg();
        }
        if (kind == Unlearning.GA) return Scorer.targetLogprobs(net, pick(all, batch, Example::prompt), pick(all, batch, Example::target), pad).mean();
        Tensor seq = Scorer.sequenceLogprobs(net, pick(all, batch, Example::prompt), pick(all, batch, Example::target), pad);
        float[] r = new float[batch.size()];
        for (int j = 0; j < r.length; j++) r[j] = (float) ref[batch.get(j)];
        return LossTerms.npo(seq, Tensors.floats(r, r.length), beta);
    }

    static List<long[]> pick(List<Example> all, List<Integer> idx, java.util.function.Function<Example, long[]> f) {
        List<long[]> out = new ArrayList<>();
        for (int i : idx) out.add(f.apply(all.get(i)));
        return out;
    }

    static List<Integer> cyclic(List<Integer> order, int step, int batch) {
        List<Integer> out = new ArrayList<>();
        for (int j = 0; j < Math.min(batch, order.size()); j++) out.add(order.get((step * batch + j) % order.size()));
        return out;
    }

    static void setGradients(List<Tensor> params, Tensor flat) {
        try (NoGradGuard g = new NoGradGuard()) {
            long at = 0;
            for (Tensor p : params) {
                long n = p.numel();
                Tensor part = Tensors.slice(flat, 0, at, at + n).view(p.sizes()).toType(Tensors.dtype(p));
                if (p.grad().defined()) p.grad().copy_(part);
                else p.mutable_grad().put(part.clone());
                at += n;
            }
        }
    }


    /** The base model's log-probability of each forget request's old answer (NPO's reference); NaN for edits. */
    static double[] forgetReference(CausalLM net, long pad, List<Example> all) {
        double[] ref = new double[all.size()];
        Arrays.fill(ref, Double.NaN);
        List<long[]> p = new ArrayList<>(), a = new ArrayList<>();
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < all.size(); i++)
            if (all.get(i).request().kind() == KnowledgeRequest.Kind.FORGET) {
                p.add(all.get(i).prompt());
                a.add(all.get(i).target());
                idx.add(i);
            }
        if (p.isEmpty()) return ref;
        try (NoGradGuard g = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            List<Scorer.Scored> sc = Scorer.scoreIds(net, p, a, 16, pad);
            for (int j = 0; j < idx.size(); j++) ref[idx.get(j)] = sc.get(j).sum();
        }
        return ref;
    }
}
