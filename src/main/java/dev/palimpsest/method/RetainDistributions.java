package dev.palimpsest.method;

import java.util.ArrayList;
import java.util.List;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.Scorer;
import dev.palimpsest.tensor.Tensors;

/**
 * The KL retention term's reference: the original model's next-token distributions at the answer tokens of each
 * retain question, computed once before training (one question per pass, so no padding enters them), and the KL
 * divergence KL(original ‖ current) over a batch of them. Holds native memory until {@link #release}.
 */
public final class RetainDistributions {
    private final List<long[]> prompts, answers;
    private final List<Tensor> original = new ArrayList<>();

    private RetainDistributions(List<long[]> prompts, List<long[]> answers) {
        this.prompts = prompts;
        this.answers = answers;
    }

    public static RetainDistributions of(CausalLM net, List<long[]> prompts, List<long[]> answers, long pad) {
        RetainDistributions r = new RetainDistributions(prompts, answers);
        try (NoGradGuard g = new NoGradGuard()) {
            for (int i = 0; i < prompts.size(); i++) {
                try (PointerScope scope = new PointerScope()) {
                    Tensor d = Scorer.targetDistributions(net, List.of(prompts.get(i)), List.of(answers.get(i)), pad);
                    d.retainReference();
                    r.original.add(d);
                }
            }
        }
        return r;
    }

    public int size() {
        return prompts.size();
    }

    /** KL(original ‖ current) over the answer tokens of the batch, averaged per token. Differentiable. */
    public Tensor kl(CausalLM net, List<Integer> batch, long pad) {
        List<long[]> p = new ArrayList<>(), a = new ArrayList<>();
        List<Tensor> o = new ArrayList<>();
        for (int i : batch) {
            p.add(prompts.get(i));
            a.add(answers.get(i));
            o.add(original.get(i));
        }
        return LossTerms.klToReference(Tensors.cat(0, o), Scorer.targetDistributions(net, p, a, pad));
    }

    public void release() {
        original.forEach(Tensor::releaseReference);
        original.clear();
    }
}
