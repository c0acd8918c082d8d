package dev.palimpsest.method;

import dev.palimpsest.request.KnowledgeRequest;
import java.util.List;
import java.util.Map;

import dev.palimpsest.data.QaItem;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.QuestionFormat;

/** The model as it is: the reference row of every comparison. */
public final class Untouched implements UpdateMethod {
    @Override
    public String name() {
        return "none";
    }

    @Override
    public String description() {
        return "the untouched model (reference row)";
    }

    @Override
    public List<Setting> settings() {
        return List.of();
    }

    @Override
    public Update apply(LanguageModel m, QuestionFormat format, List<KnowledgeRequest> requests, List<QaItem> retain,
            Map<String, String> settings, long seed) {
        new Settings(this, settings);
        return WeightDelta.before(name(), Map.of(), m.net(), List.of());
    }
}
