package dev.palimpsest.request;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import dev.palimpsest.data.DataFormat;
import dev.palimpsest.data.EditItem;
import dev.palimpsest.data.EditReader;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.data.QaReader;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.QuestionFormat;

/** How requests are made from data: forget questions with their refusal targets and query merging, and edits. */
public final class Requests {
    private Requests() {}

    /** The refusal policies of forget requests, as {@code --refusals} names them. */
    public static final List<String> REFUSALS = List.of("template", "idk", "self");

    /**
     * Forget requests for QA items: each answer is to be replaced by a refusal, from a template naming the question's
     * entities ({@code template}), the built-in set of "I don't know" answers ({@code idk}, seeded) or the model itself
     * ({@code self}, which needs {@code m} and {@code format}); then packed {@code merge} to a request (query merging:
     * template refusals name the merged question's entities, the other kinds reuse the first refusal).
     */
    public static List<KnowledgeRequest> forget(List<QaItem> items, String refusals, int merge, long seed, LanguageModel m, QuestionFormat format) {
        if (items.isEmpty()) return List.of();
        List<String> targets = new ArrayList<>();
        Random rnd = new Random(seed);
        switch (refusals) {
            case "idk" -> items.forEach(q -> targets.add(RefusalSet.pick(rnd)));
            case "template" -> items.forEach(q -> targets.add(TemplateRefusal.forQuestion(q.question())));
            case "self" -> targets.addAll(SelfImprovement.refusals(m, format, items.stream().map(QaItem::question).toList(),
                    items.stream().map(QaItem::answer).toList()));
            default -> throw new IllegalArgumentException("refusal policy " + refusals);
        }
        List<KnowledgeRequest> out = new ArrayList<>();
        for (int i = 0; i < items.size(); i++)
            out.add(new KnowledgeRequest(KnowledgeRequest.Kind.FORGET, items.get(i).question(), items.get(i).answer(),
                    targets.get(i), null));
        return QueryMerging.merge(out, merge, refusals.equals("template") ? TemplateRefusal::forQuestion : q -> targets.get(0));
    }

    /** Edit requests from a file: an edit format's new targets, or a QA file's answers as the targets. */
    public static List<KnowledgeRequest> edits(Path file, DataFormat fmt) {
        List<KnowledgeRequest> out = new ArrayList<>();
        if (fmt.isEdit()) {
            for (EditItem e : EditReader.read(file, fmt))
                out.add(new KnowledgeRequest(KnowledgeRequest.Kind.EDIT, e.prompt(), e.groundTruth(), e.target(), e.subject()));
        } else {
            for (QaItem q : QaReader.read(file, fmt))
                out.add(new KnowledgeRequest(KnowledgeRequest.Kind.EDIT, q.question(), null, q.answer(), null));
        }
        return out;
    }
}
