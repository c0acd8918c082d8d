package dev.palimpsest.experiment;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.palimpsest.data.QaItem;
import dev.palimpsest.data.Splits;
import dev.palimpsest.eval.Evaluator;
import dev.palimpsest.request.KnowledgeRequest;
import dev.palimpsest.request.Requests;
import dev.palimpsest.method.MethodRegistry;
import dev.palimpsest.method.Update;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.QuestionFormat;

/**
 * One run = model × dataset × method × settings × forget size × seed: split the dataset, turn the
 * forget set into requests, apply the method, and measure the forget set, the retain set, the forget
 * set asked with paraphrased questions, and an unrelated factual set.
 */
public final class ExperimentRunner {
    private ExperimentRunner() {}


    /** A model and the knowledge it holds: the pool a forget set is drawn from, and unrelated facts (or null). */
    public record Setting(String name, Path model, List<QaItem> pool, List<QaItem> factual) {}

    /** {@code merge}: query merging, this many forget questions per request (1 = none). */
    public record Run(Setting setting, String method, int forgetSize, long seed, Map<String, String> settings, int merge) {
        public Run(Setting setting, String method, int forgetSize, long seed, Map<String, String> settings) {
            this(setting, method, forgetSize, seed, settings, 1);
        }

        /** The method as the report names it: "rome merge 5" when queries are merged. */
        public String label() {
            return merge == 1 ? method : method + " merge " + merge;
        }
    }

    /** Retain and factual sets are measured on at most this many items (a seeded sample), to keep runs short. */
    public static final int EVAL_CAP = 100;

    public static List<ResultRow> run(Run r, Evaluator.Options opts, PrintWriter log) {
        try (LanguageModel m = LanguageModel.load(r.setting().model())) {
            return run(r, m, opts, log);
        }
    }

    /**
     * The same on a model already loaded from {@code r.setting().model()}, which is left exactly as it was: the update is
     * removed after the measurements, so that one process can run many cells on one loaded model.
     */
    public static List<ResultRow> run(Run r, LanguageModel m, Evaluator.Options opts, PrintWriter log) {
        Splits.Split<QaItem> split = Splits.forgetN(r.setting().pool(), r.forgetSize(), r.seed());
        // Forget requests target a refusal that names the question's entities (see request/TemplateRefusal).
        List<KnowledgeRequest> requests = Requests.forget(split.forget(), "template", r.merge(), r.seed(), null, null);
        List<ResultRow> rows = new ArrayList<>();
        QuestionFormat format = m.questionFormat();
        Update u = MethodRegistry.get(r.method()).apply(m, format, requests, split.retain(), r.settings(), r.seed());
        try {
            Map<String, List<QaItem>> sets = new java.util.LinkedHashMap<>();
            sets.put("forget", split.forget());
            sets.put("retain", cap(split.retain(), r.seed()));
            sets.put("rephrased", Splits.rephrased(split.forget()));
            if (r.setting().factual() != null) sets.put("factual", cap(r.setting().factual(), r.seed()));
            long e0 = System.nanoTime();
            for (Map.Entry<String, List<QaItem>> e : sets.entrySet()) {
                if (e.getValue().isEmpty()) continue;
                Map<String, Object> metrics = Evaluator.qa(m, format, e.getValue(), opts).summary();
                rows.add(new ResultRow(r.setting().name(), r.label(), r.forgetSize(), 1, r.seed(), e.getKey(), metrics,
                        u.seconds()));
            }
            log.printf("%s / %s / forget %d: forget ROUGE-1 %.3f, retain ROUGE-1 %.3f (update %.1f s, evaluation %.1f s)%n",
                    r.setting().name(), r.label(), r.forgetSize(), rows.get(0).metric("rouge1_recall"),
                    rows.get(1).metric("rouge1_recall"), u.seconds(), (System.nanoTime() - e0) / 1e9);
        } finally {
            u.remove();
        }
        return rows;
    }

    private static List<QaItem> cap(List<QaItem> items, long seed) {
        return items.size() <= EVAL_CAP ? items : Splits.forgetN(items, EVAL_CAP, seed + 1).forget();
    }
}
