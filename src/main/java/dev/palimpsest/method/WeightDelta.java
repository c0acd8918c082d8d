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
public final class WeightDelta implements Update {
    private final String method;
    private final Map<String, Object> settings;
    private final Map<Tensor, Tensor> originals = new LinkedHashMap<>();
    private double seconds;

    private WeightDelta(String method, Map<String, Object> settings) {
        this.method = method;
        this.settings = settings;
    }

    /** Snapshots the named parameters before a method changes them. */
    public static WeightDelta before(String method, Map<String, Object> settings, CausalLM net, List<String> names) {
        WeightDelta d = new WeightDelta(method, settings);
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

    public WeightDelta took(double seconds) {
        this.seconds = seconds;
        return this;
    }

    @Override
    public String method() {
        return method;
    }

    @Override
    public Map<String, Object> settings() {
        return settings;
    }

    @Override
    public double seconds() {
        return seconds;
    }

    @Override
    public void remove() {
        try (NoGradGuard g = new NoGradGuard()) {
            originals.forEach((live, copy) -> live.copy_(copy));
        }
    }
}
