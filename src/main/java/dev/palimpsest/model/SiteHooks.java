package dev.palimpsest.model;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

/** The hooks registered on a model, by layer and site. With none registered a forward pass pays nothing. */
public final class SiteHooks {
    private final Map<String, List<SiteHook>> hooks = new HashMap<>();
    private PointerScope owner;
    private Tensor passKeyMask;
    private long passPast;

    /** A registration; closing it removes the hook. */
    public final class Handle implements AutoCloseable {
        private final String key;
        private final SiteHook hook;

        private Handle(String key, SiteHook hook) {
            this.key = key;
            this.hook = hook;
        }

        @Override
        public void close() {
            List<SiteHook> list = hooks.get(key);
            if (list != null) {
                list.remove(hook);
                if (list.isEmpty()) hooks.remove(key);
            }
        }
    }

    public Handle add(int layer, Site site, SiteHook hook) {
        String key = site.id(layer);
        hooks.computeIfAbsent(key, k -> new ArrayList<>()).add(hook);
        return new Handle(key, hook);
    }

    /**
     * Records a detached copy of the activation at this site on every forward pass. The copies belong
     * to the PointerScope that encloses the forward call (each layer runs in a scope of its own).
     */
    public Handle record(int layer, Site site, List<Tensor> sink) {
        return add(layer, site, a -> {
            Tensor copy = a.detach().clone();
            if (owner != null) owner.attach(copy);
            sink.add(copy);
            return a;
        });
    }

    /** Keeps a tensor made inside a hook alive until the forward pass's caller is done with its results. */
    public Tensor keepForPass(Tensor t) {
        if (owner != null) owner.attach(t);
        return t;
    }

    /** The caller's scope during a forward pass (set by the model). */
    void setOwner(PointerScope scope) {
        owner = scope;
    }

    /** The pass under way (set by the model): its tokens' key mask (null: no padding) and how many tokens the cache held before it. */
    void setPass(Tensor keyMask, long past) {
        passKeyMask = keyMask;
        passPast = past;
    }

    /** The key mask [batch, tokens] of the forward pass under way, or null when none of its tokens is padding. */
    public Tensor passKeyMask() {
        return passKeyMask;
    }

    /** How many tokens the KV cache held before the pass under way: 0 for a pass that starts its sequences. */
    public long passPast() {
        return passPast;
    }

    public Tensor apply(int layer, Site site, Tensor activation) {
        if (hooks.isEmpty()) return activation;
        List<SiteHook> list = hooks.get(site.id(layer));
        if (list == null) return activation;
        Tensor a = activation;
        for (SiteHook h : List.copyOf(list)) a = h.apply(a);
        return a;
    }

    public boolean isEmpty() {
        return hooks.isEmpty();
    }

    public void clear() {
        hooks.clear();
    }
}
