package dev.palimpsest.train;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.Linear;
import dev.palimpsest.model.LoraAdapter;

/** Attaches, merges and removes LoRA adapters on a model's linear layers. */
public final class Lora {
    private Lora() {}

    /**
     * Puts a fresh adapter (rank, alpha) on every linear layer whose name passes {@code layers}, e.g.
     * {@code n -> n.endsWith("mlp.down_proj")}. Seeded. Returns the adapters in layer order.
     */
    public static List<LoraAdapter> attach(CausalLM net, Predicate<String> layers, int rank, double alpha, long seed) {
        torch.manual_seed(seed);
        List<LoraAdapter> out = new ArrayList<>();
        for (Linear l : net.linears().values()) {
            if (!layers.test(l.name())) continue;
            LoraAdapter a = LoraAdapter.create(l.inFeatures(), l.outFeatures(), rank, alpha, fp32(net.dtype()));
            l.attach(a);
            out.add(a);
        }
        if (out.isEmpty()) throw new IllegalArgumentException("no linear layer matches the LoRA selection");
        return out;
    }

    /** The adapters' trainable tensors (A and B of each). */
    public static List<Tensor> parameters(List<LoraAdapter> adapters) {
        List<Tensor> out = new ArrayList<>();
        for (LoraAdapter a : adapters) {
            out.add(a.a());
            out.add(a.b());
        }
        return out;
    }

    /** Folds every adapter into its weight. */
    public static void mergeAll(CausalLM net) {
        for (Linear l : net.linears().values()) l.merge();
    }

    /** Stops every attached adapter from taking gradients (kept, unmerged, for export or inference). */
    public static void freezeAll(CausalLM net) {
        for (Linear l : net.linears().values())
            if (l.adapter() != null) {
                l.adapter().a().set_requires_grad(false);
                l.adapter().b().set_requires_grad(false);
            }
    }

    /** Removes every adapter without changing the weights. */
    public static void detachAll(CausalLM net) {
        for (Linear l : net.linears().values()) l.detach();
    }

    /** Adapters are trainable: fp32 over a bf16 or fp16 model (their own master weights), else the model's type. */
    private static org.bytedeco.pytorch.global.torch.ScalarType fp32(org.bytedeco.pytorch.global.torch.ScalarType t) {
        return t == org.bytedeco.pytorch.global.torch.ScalarType.Double ? t : org.bytedeco.pytorch.global.torch.ScalarType.Float;
    }
}
