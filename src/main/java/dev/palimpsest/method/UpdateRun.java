package dev.palimpsest.method;

import java.util.List;

import dev.palimpsest.data.QaItem;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.request.KnowledgeRequest;

/**
 * One application of a method: the model to change in place, how questions are put to it, the requests, the
 * questions whose answers should survive (methods with a retain term read them), the checked settings and the seed.
 */
public record UpdateRun(LanguageModel model, QuestionFormat format, List<KnowledgeRequest> requests, List<QaItem> retain,
        Settings settings, long seed) {}
