package dev.palimpsest.method;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

import dev.palimpsest.UserError;
import dev.palimpsest.method.LossTerms.Forget;
import dev.palimpsest.method.LossTerms.Retain;
import dev.palimpsest.method.TrainedUpdate.Recipe;
import dev.palimpsest.method.locate.AlphaEdit;
import dev.palimpsest.method.locate.Memit;
import dev.palimpsest.method.locate.Rome;
import dev.palimpsest.method.loka.Loka;
import dev.palimpsest.method.memory.Grace;
import dev.palimpsest.method.memory.Wise;

/** Every update method by name, in the order `methods` lists them. A method that is not done is not here. */
public final class MethodRegistry {
    private static final Map<String, Supplier<UpdateMethod>> METHODS = new LinkedHashMap<>();

    static {
        register(Untouched::new);
        register(FineTune::new);
        register(FineTune::constrained);
        trained(Recipe.unlearning("ga", "gradient ascent on the forget answers", Forget.GA, Retain.NLL, 0, 5));
        trained(Recipe.unlearning("gd", "gradient difference: ascent on the forget answers, descent on the retain answers", Forget.GA, Retain.NLL, 1, 5));
        trained(Recipe.unlearning("kl", "gradient ascent on the forget answers + KL to the original model on the retain answers", Forget.GA, Retain.KL, 1, 5));
        // The editing-as-unlearning paper's "DPO" baseline (its Eq. 7) is this: the refusal's NLL + the retain NLL.
        trained(Recipe.unlearning("idk", "NLL of refusals on the forget questions + NLL of the retain answers", Forget.REFUSAL, Retain.NLL, 1, 10));
        // Plain DPO, as open-unlearning runs it. Before its (2/β) scale it pushed the answer down without producing the
        // refusal here (at most 1 of 40 answers refused at lr 5e-4, 2e-3, 5e-3): refusal_weight adds the refusal's NLL.
        trained(Recipe.unlearning("dpo", "preference loss, refusal over answer, against the frozen original + retain NLL", Forget.DPO, Retain.NLL, 1, 10));
        trained(Recipe.unlearning("npo", "negative preference optimization on the forget answers + NLL of the retain answers", Forget.NPO, Retain.NLL, 1, 5));
        register(Rome::new);
        register(Memit::new);
        register(AlphaEdit::new);
        register(Grace::new);
        register(Wise::new);
        // LOKA's baseline: one set of weights on the summed losses its memories train on ("single LoRA" with lora_rank > 0).
        trained(new Recipe("joint", "fine-tune one set of weights on the summed editing and unlearning losses over mixed batches",
                null, Forget.NPO, true, Retain.NONE, 1, 10, 4));
        register(Loka::new);
    }

    private MethodRegistry() {}

    /** Adds a method; its name is what `--method` takes. Closing the registration removes it again (a test's toy method). */
    public static Registration register(Supplier<UpdateMethod> s) {
        String name = s.get().name();
        METHODS.put(name, s);
        return () -> METHODS.remove(name);
    }

    /** A method's place in the registry. */
    public interface Registration extends AutoCloseable {
        @Override
        void close();
    }

    private static void trained(Recipe r) {
        register(() -> new TrainedUpdate(r));
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
