package dev.palimpsest.method;

import dev.palimpsest.request.KnowledgeRequest;
import java.util.List;
import java.util.Map;

import dev.palimpsest.data.QaItem;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.QuestionFormat;

/** A way of changing what a model knows. Implementations are registered in {@link MethodRegistry}. */
public interface UpdateMethod {
    String name();

    /** One line for --help and the README, with the defaults. */
    String description();

    /** The settings it accepts ({@code --set key=value}), with their types and ranges. */
    List<Setting> settings();

    /**
     * Applies the requests to {@code m} in place. {@code retain} holds questions whose answers should
     * survive (methods that use a retain set read it; others ignore it). {@code settings} overrides
     * the method's defaults by name; an unknown name is an error.
     */
    Update apply(LanguageModel m, QuestionFormat format, List<KnowledgeRequest> requests, List<QaItem> retain,
            Map<String, String> settings, long seed);
}
