package dev.palimpsest.method;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

import dev.palimpsest.UserError;

/** Every update method by name. A method that is not done is not here. */
public final class MethodRegistry {
    private static final Map<String, Supplier<UpdateMethod>> METHODS = new LinkedHashMap<>();

    static {
        register(Untouched::new);
        register(FineTune::new);
        register(FineTune::constrained);
        register(GradientAscent::new);
        register(GradientDifference::new);
        register(KlRetain::new);
        register(IdkTuning::new);
        register(Dpo::new);
        register(Npo::new);
        register(dev.palimpsest.method.locate.Rome::new);
        register(dev.palimpsest.method.locate.Memit::new);
        register(dev.palimpsest.method.locate.AlphaEdit::new);
        register(dev.palimpsest.method.memory.Grace::new);
        register(dev.palimpsest.method.memory.Wise::new);
        register(dev.palimpsest.method.loka.JointFineTune::new);
        register(dev.palimpsest.method.loka.Loka::new);
    }

    private MethodRegistry() {}

    private static void register(Supplier<UpdateMethod> s) {
        METHODS.put(s.get().name(), s);
    }

    public static UpdateMethod get(String name) {
        Supplier<UpdateMethod> s = METHODS.get(name);
        if (s == null) throw new UserError("unknown method '" + name + "' (available: " + String.join(", ", METHODS.keySet()) + ")");
        return s.get();
    }

    public static Iterable<String> names() {
        return METHODS.keySet();
    }
}
