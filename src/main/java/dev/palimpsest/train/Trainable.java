package dev.palimpsest.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import org.bytedeco.pytorch.Tensor;

import dev.palimpsest.model.CausalLM;

/** Chooses which of a model's weights a training run may change. */
public final class Trainable {
    private Trainable() {}

    /**
     * Marks the parameters whose checkpoint names pass {@code names} as trainable and freezes the rest;
     * returns the trainable tensors. Fails when nothing matches, which is always a mistake.
     */
    public static List<Tensor> select(CausalLM net, Predicate<String> names) {
        List<Tensor> out = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : net.parameters().entrySet()) {
            boolean on = names.test(e.getKey());
            e.getValue().set_requires_grad(on);
            if (on) out.add(e.getValue());
        }
        if (out.isEmpty()) throw new IllegalArgumentException("no parameter matches the trainable selection");
        return out;
    }

    /**
     * What an unlearning run trains: with {@code loraRank} > 0, fresh LoRA adapters (alpha 2·rank) on every linear
     * layer but the output head, the base frozen; otherwise all weights. Returns the trainable tensors.
     */
    public static List<Tensor> allOrLora(CausalLM net, int loraRank, long seed) {
        if (loraRank <= 0) return select(net, n -> true);
        freezeAll(net);
        return Lora.parameters(Lora.attach(net, n -> !n.equals("lm_head"), loraRank, 2.0 * loraRank, seed));
    }

    /** Freezes every base weight (adapters keep their own setting). */
    public static void freezeAll(CausalLM net) {
        for (Tensor t : net.parameters().values()) t.set_requires_grad(false);
    }
}
