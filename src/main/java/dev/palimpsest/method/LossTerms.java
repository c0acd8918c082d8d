package dev.palimpsest.method;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import dev.palimpsest.UserError;
import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.model.Scorer;
import dev.palimpsest.model.Tokenizer;
import dev.palimpsest.request.KnowledgeRequest;
import dev.palimpsest.tensor.Tensors;

/**
 * The loss terms every trained update composes, written once: the editing term (NLL of the new targets), the
 * forgetting terms ({@link Forget}: GA, NPO, DPO, refusal NLL) and the retention terms ({@link Retain}: NLL, KL).
 * The unlearning baselines, joint fine-tuning and LOKA's memories are choices among them (see
 * {@link TrainedUpdate} and {@code method/loka}).
 */
public final class LossTerms {
    private LossTerms() {}

    /** One request as token ids: an edit's prompt and new target; a forget's prompt, old answer and refusal (null if none). */
    public record Example(KnowledgeRequest request, long[] prompt, long[] target, long[] refusal) {
        public boolean edit() {
            return request.kind() == KnowledgeRequest.Kind.EDIT;
        }
    }

    /** A request as the losses read it; every answer is followed by EOS, as the model is taught to say it. */
    public static Example example(KnowledgeRequest r, Tokenizer tok, QuestionFormat format) {
        long[] prompt = format.promptIds(tok, r.question());
        if (r.kind() == KnowledgeRequest.Kind.EDIT) return new Example(r, prompt, format.answerIds(tok, r.target()), null);
        if (r.answer() == null) throw new UserError("forget request '" + r.question() + "' has no answer to forget");
        return new Example(r, prompt, format.answerIds(tok, r.answer()), r.target() == null ? null : format.answerIds(tok, r.target()));
    }

    public static List<Example> examples(List<KnowledgeRequest> requests, Tokenizer tok, QuestionFormat format) {
        List<Example> out = new ArrayList<>();
        for (KnowledgeRequest r : requests) out.add(example(r, tok, format));
        return out;
    }

    /** How forgetting is trained. */
    public enum Forget {
        /** Gradient ascent: minimise the mean log-probability of the old answer's tokens. */
        GA,
        /** NPO: (2/β) · mean softplus(β · (log π(answer) − log π_ref(answer))). */
        NPO,
        /** DPO, the refusal preferred over the answer: −(2/β) · mean log σ(β · Δ), + refusal_weight × the refusal's NLL. */
        DPO,
        /** The refusal's NLL (editing the answer into a refusal). */
        REFUSAL;

        public String word() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        public static Forget parse(String s) {
            return valueOf(s.toUpperCase(java.util.Locale.ROOT));
        }

        boolean needsReference() {
            return this == NPO || this == DPO;
        }
    }

    /** How the retain set is kept: not at all, NLL of its answers (as GD), or KL from the original model on them. */
    public enum Retain {
        NONE, NLL, KL;

        public String word() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        public static Retain parse(String s) {
            return valueOf(s.toUpperCase(java.util.Locale.ROOT));
        }
    }

    /** The original model's sequence log-probabilities of each forget request's answer and refusal (NPO's and DPO's reference); NaN for edits. */
    public record Reference(double[] answer, double[] refusal) {
        public static Reference of(CausalLM net, long pad, List<Example> all, Forget kind) {
            double[] a = new double[all.size()], r = new double[all.size()];
            Arrays.fill(a, Double.NaN);
            Arrays.fill(r, Double.NaN);
            if (!kind.needsReference()) return new Reference(a, r);
            List<Integer> idx = new ArrayList<>();
            for (int i = 0; i < all.size(); i++) if (!all.get(i).edit()) idx.add(i);
            if (idx.isEmpty()) return new Reference(a, r);
            try (NoGradGuard g = new NoGradGuard(); PointerScope scope = new PointerScope()) {
                fill(a, idx, Scorer.scoreIds(net, pick(all, idx, Example::prompt), pick(all, idx, Example::target), 16, pad));
                if (kind == Forget.DPO)
                    fill(r, idx, Scorer.scoreIds(net, pick(all, idx, Example::prompt), refusals(all, idx, kind), 16, pad));
            }
            return new Reference(a, r);
        }

        private static void fill(double[] into, List<Integer> idx, List<Scorer.Scored> scored) {
            for (int j = 0; j < idx.size(); j++) into[idx.get(j)] = scored.get(j).sum();
        }

        Tensor answersAt(List<Integer> idx) {
            return of(answer, idx);
        }

        Tensor refusalsAt(List<Integer> idx) {
            return of(refusal, idx);
        }

        private static Tensor of(double[] values, List<Integer> idx) {
            float[] f = new float[idx.size()];
            for (int i = 0; i < f.length; i++) f[i] = (float) values[idx.get(i)];
            return Tensors.floats(f);
        }
    }

    /** The editing term of a batch of edits: NLL of the new targets' tokens (a token-level mean). */
    public static Tensor edit(CausalLM net, List<Example> all, List<Integer> batch, long pad) {
        return meanLogprob(net, pick(all, batch, Example::prompt), pick(all, batch, Example::target), pad).neg();
    }

    /**
     * The forgetting term of a batch of forget requests. {@code beta}: NPO's and DPO's inverse temperature;
     * {@code refusalWeight}: the weight of DPO's refusal NLL.
     */
    public static Tensor forget(CausalLM net, List<Example> all, List<Integer> batch, Reference ref, Forget kind, double beta,
            double refusalWeight, long pad) {
        List<long[]> prompts = pick(all, batch, Example::prompt), answers = pick(all, batch, Example::target);
        return switch (kind) {
            case GA -> meanLogprob(net, prompts, answers, pad);
            case REFUSAL -> meanLogprob(net, prompts, refusals(all, batch, kind), pad).neg();
            case NPO -> npo(Scorer.sequenceLogprobs(net, prompts, answers, pad), ref.answersAt(batch), beta);
            case DPO -> {
                // One pass over the refusals serves both the preference term (their sums) and the refusal NLL (their mean).
                List<long[]> refusals = refusals(all, batch, kind);
                Tensor refusalTokens = Scorer.targetLogprobs(net, prompts, refusals, pad);
                Tensor win = Scorer.sequenceSums(refusalTokens, refusals).sub(ref.refusalsAt(batch));
                Tensor lose = Scorer.sequenceLogprobs(net, prompts, answers, pad).sub(ref.answersAt(batch));
                yield dpo(win, lose, beta).add(refusalTokens.mean().neg().mul(Tensors.scalar(refusalWeight)));
            }
        };
    }

    /**
     * DPO's preference term over log-ratios to the reference (the refusal's, the answer's): −(2/β) · mean log σ(β · (win − lose)),
     * open-unlearning's scale, which gives it NPO's gradient size at the reference point.
     */
    public static Tensor dpo(Tensor winLogRatio, Tensor loseLogRatio, double beta) {
        return torch.log_sigmoid(winLogRatio.sub(loseLogRatio).mul(Tensors.scalar(beta))).mean().mul(Tensors.scalar(-2 / beta));
    }

    /** NPO: (2/β) · mean softplus(β · (log π(answer) − log π_ref(answer))), over the batch's sequence log-probabilities. */
    public static Tensor npo(Tensor sequenceLogp, Tensor referenceLogp, double beta) {
        return torch.softplus(sequenceLogp.sub(referenceLogp).mul(Tensors.scalar(beta))).mean().mul(Tensors.scalar(2 / beta));
    }

    /** The retain set's NLL term over a batch of its questions: the NLL of their answers' tokens. */
    public static Tensor retainNll(CausalLM net, List<long[]> prompts, List<long[]> answers, long pad) {
        return meanLogprob(net, prompts, answers, pad).neg();
    }

    /**
     * KL(reference ‖ current) per token, averaged over tokens: Σ_v p_ref (log p_ref − log p_now), from the two
     * log-softmax rows of the same answer tokens [tokens, vocab].
     */
    public static Tensor klToReference(Tensor referenceLogp, Tensor currentLogp) {
        return Tensors.sum(referenceLogp.exp().mul(referenceLogp.sub(currentLogp)), 1).mean();
    }

    /** Mean log-probability of the targets' tokens (a token-level mean over the batch). */
    static Tensor meanLogprob(CausalLM net, List<long[]> prompts, List<long[]> targets, long pad) {
        return Scorer.targetLogprobs(net, prompts, targets, pad).mean();
    }

    public static List<long[]> pick(List<Example> all, List<Integer> idx, Function<Example, long[]> f) {
        List<long[]> out = new ArrayList<>(idx.size());
        for (int i : idx) out.add(f.apply(all.get(i)));
        return out;
    }

    private static List<long[]> refusals(List<Example> all, List<Integer> idx, Forget kind) {
        for (int i : idx)
            if (all.get(i).refusal() == null)
                throw new UserError("forget_loss=" + kind.word() + " needs a refusal target for '" + all.get(i).request().question() + "'");
        return pick(all, idx, Example::refusal);
    }
}
