package dev.palimpsest.method.loka;

import java.util.ArrayList;
import java.util.List;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import dev.palimpsest.data.QaItem;
import dev.palimpsest.method.LossTerms;
import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.model.Scorer;
import dev.palimpsest.model.Tokenizer;
import dev.palimpsest.tensor.Tensors;

/**
 * LOKA's retention term: the base model's next-token distributions over the retain set's answers, computed once
 * before any memory is trained, and the KL divergence KL(base ‖ current) of a batch of them. At most {@link #CAP}
 * retain items (a seeded sample) are kept.
 */
final class RetainReference {
    static final int CAP = 64;

    private final List<long[]> prompts = new ArrayList<>(), answers = new ArrayList<>();
    private final List<Tensor> base = new ArrayList<>();

    private RetainReference() {}

    static RetainReference of(CausalLM net, Tokenizer tok, QuestionFormat format, List<QaItem> retain, long seed) {
        RetainReference r = new RetainReference();
        List<QaItem> items = new ArrayList<>(retain);
        java.util.Collections.shuffle(items, new java.util.Random(seed));
        for (QaItem q : items.subList(0, Math.min(CAP, items.size()))) {
            r.prompts.add(tok.encodePrompt(format.prompt(q.question())));
            r.answers.add(format.answerIds(tok, q.answer()));
        }
        for (int from = 0; from < r.prompts.size(); from += 16) {
            int to = Math.min(r.prompts.size(), from + 16);
            try (NoGradGuard g = new NoGradGuard(); PointerScope scope = new PointerScope()) {
                Tensor d = Scorer.targetDistributions(net, r.prompts.subList(from, to), r.answers.subList(from, to), tok.padId());
                long at = 0;
                for (int i = from; i < to; i++) {
                    int n = r.answers.get(i).length;
                    Tensor rows = Tensors.slice(d, 0, at, at + n).clone();
                    rows.retainReference();
                    r.base.add(rows);
                    at += n;
                }
            }
        }
        return r;
    }

    int size() {
        return prompts.size();
    }

    List<Integer> order() {
        List<Integer> o = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) o.add(i);
        return o;
    }

    /** KL(base ‖ current) over the answer tokens of the batch, averaged per token. Differentiable. */
    Tensor kl(CausalLM net, List<Integer> batch, long pad) {
        List<long[]> p = new ArrayList<>(), a = new ArrayList<>();
        List<Tensor> b = new ArrayList<>();
        for (int i : batch) {
            p.add(prompts.get(i));
            a.add(answers.get(i));
            b.add(base.get(i));
        }
        return LossTerms.klToReference(Tensors.cat(0, b), Scorer.targetDistributions(net, p, a, pad));
    }

    void release() {
        base.forEach(Tensor::releaseReference);
        base.clear();
    }
}
