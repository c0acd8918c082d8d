package dev.palimpsest.method;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import dev.palimpsest.model.CausalLM;

/**
 * An update that changed weights in place. It keeps a copy of every weight it may change, taken
 * before the change, so that {@link #remove} restores them bit for bit.
 */
public final class WeightDelta implements Undo {
    private final Map<Tensor, Tensor> originals = new LinkedHashMap<>();

    private WeightDelta() {}

    /** Snapshots the named parameters before a method changes them. */
    public static WeightDelta before(CausalLM net, List<String> names) {
        WeightDelta d = new WeightDelta();
        try (NoGradGuard g = new NoGradGuard()) {
            for (String n : names) {
                Tensor live = net.parameter(n);
                Tensor copy = live.detach().clone();
                copy.retainReference();
                d.originals.put(live, copy);
            }
        }
        return d;
    }

    @Override
    public void remove() {
        try (NoGradGuard g = new NoGradGuard()) {
            originals.forEach((live, copy) -> live.copy_(copy));
        }
    }
}
