package dev.palimpsest.method;

import java.util.List;
import java.util.Map;

import dev.palimpsest.data.QaItem;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.request.KnowledgeRequest;

/**
 * A way of changing what a model knows. Implementations are registered in {@link MethodRegistry}; a method
 * declares its settings and changes the model; checking the settings, timing and recording the run are done
 * here, once for all of them.
 */
public interface UpdateMethod {
    String name();

    /** One line for `methods`, --help and the README: what it does (the defaults are in {@link #settings}). */
    String description();

    /** The settings it accepts ({@code --set key=value}), each with its range, default and doc. */
    List<Setting> settings();

    /** What to look at first when most of an update's requests did not take (one clause, for a warning line). */
    default String whenItDoesNotTake() {
        return "its settings may be too weak for this model: more epochs or a higher lr (see `palimpsest methods`)";
    }

    /** Why this method wants retain questions, for a warning when it gets none (null: it does not read them or copes without). */
    default String withoutRetain() {
        return null;
    }

    /**
     * True for a method that changes nothing but the memories it attaches: the model's weights stay bit for bit as they
     * were (checked for every method that says so). {@code serve --lean} shares one set of weights between its two model
     * copies and accepts only these methods.
     */
    default boolean keepsWeights() {
        return false;
    }

    /** Changes {@code run.model()} in place and says how to undo it. */
    Undo update(UpdateRun run);

    /**
     * Applies the requests to {@code m} in place. {@code settings} overrides the method's defaults by name; an
     * unknown name, a wrong type or a value out of range is an error before anything changes.
     */
    default Update apply(LanguageModel m, QuestionFormat format, List<KnowledgeRequest> requests, List<QaItem> retain,
            Map<String, String> settings, long seed) {
        long t0 = System.nanoTime();
        Settings s = new Settings(this, settings);
        Undo undo = update(new UpdateRun(m, format, requests, retain, s, seed));
        return new Update(name(), s.resolved(), (System.nanoTime() - t0) / 1e9, undo);
    }
}
