package dev.palimpsest.method;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import dev.palimpsest.tensor.Tensors;

/**
 * The loss formulas the training methods share, written once: the baselines (GA, GD, KL, NPO, DPO), joint
 * fine-tuning and LOKA's memories compose them.
 */
public final class LossTerms {
    private LossTerms() {}

    /** NPO: (2/β) · mean softplus(β · (log π(answer) − log π_ref(answer))), over the batch's sequence log-probabilities. */
    public static Tensor npo(Tensor sequenceLogp, Tensor referenceLogp, double beta) {
        return torch.softplus(sequenceLogp.sub(referenceLogp).mul(Tensors.scalar(beta))).mean().mul(Tensors.scalar(2 / beta));
    }

    /**
     * KL(reference ‖ current) per token, averaged over tokens: Σ_v p_ref (log p_ref − log p_now), from the two
     * log-softmax rows of the same answer tokens [tokens, vocab].
     */
    public static Tensor klToReference(Tensor referenceLogp, Tensor currentLogp) {
        return Tensors.sum(referenceLogp.exp().mul(referenceLogp.sub(currentLogp)), 1).mean();
    }
}
