package dev.palimpsest.experiment;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import dev.palimpsest.UserError;
import dev.palimpsest.data.EditItem;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.eval.Evaluator;
import dev.palimpsest.method.KnowledgeRequest;
import dev.palimpsest.method.MethodRegistry;
import dev.palimpsest.method.Update;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.target.TemplateRefusal;

/**
 * LOKA's task: edit E facts and forget F facts in one update. From a pool of facts the model knows (seeded), the
 * first E become counterfactual edits (the new target is the fact's first perturbed answer), the next F are to be
 * forgotten, the rest are the retain set. Each request carries its first paraphrase (for methods that train on
 * paraphrases, as LOKA's router does); generalization is measured on the last paraphrase, which no method sees.
 * Rows: {@code edit} (reliability, generalization: teacher-forced top-1 accuracy of the new target; locality: share
 * of retain-answer tokens whose top prediction is still the base model's), {@code forget} and {@code retain} (the
 * QA metrics of {@link Evaluator#qa}).
 */
public final class CombinedTask {
    private CombinedTask() {}

    /** One compared method: the label the table shows, the registered method and its settings. */
    public record Variant(String label, String method, Map<String, String> settings) {}

    /** LOKA and the baselines the paper compares it with, as methods of this toolkit. */
    public static List<Variant> defaults() {
        return List.of(new Variant("FT + GA", "joint", Map.of("forget_loss", "ga")),
                new Variant("FT + NPO", "joint", Map.of("forget_loss", "npo")),
                new Variant("GD", "joint", Map.of("forget_loss", "ga", "retain", "nll")),
                new Variant("single LoRA", "joint", Map.of("forget_loss", "npo", "retain", "kl", "lora_rank", "8", "lr", "1e-3")),
                new Variant("GRACE", "grace", Map.of()),
                new Variant("LOKA", "loka", Map.of()));
    }

    /** The split of a pool into edits, forgets and retain facts. */
    public record Split(List<QaItem> edits, List<QaItem> forgets, List<QaItem> retain) {
        public static Split of(List<QaItem> pool, int edits, int forgets, long seed) {
            if (edits < 0 || forgets < 0 || edits + forgets >= pool.size())
                throw new UserError("the combined task needs fewer than " + pool.size() + " edits and forgets together, got " + edits + " + " + forgets);
            List<QaItem> shuffled = new ArrayList<>(pool);
            Collections.shuffle(shuffled, new Random(seed));
            for (QaItem q : shuffled.subList(0, edits))
                if (q.perturbedAnswers().isEmpty()) throw new UserError("fact '" + q.id() + "' has no perturbed answer to edit it into");
            return new Split(List.copyOf(shuffled.subList(0, edits)), List.copyOf(shuffled.subList(edits, edits + forgets)),
                    List.copyOf(shuffled.subList(edits + forgets, shuffled.size())));
        }

        public List<KnowledgeRequest> requests() {
            List<KnowledgeRequest> out = new ArrayList<>();
            for (QaItem q : edits)
                out.add(new KnowledgeRequest(KnowledgeRequest.Kind.EDIT, q.question(), q.answer(), q.perturbedAnswers().get(0), null, first(q)));
            for (QaItem q : forgets)
                out.add(new KnowledgeRequest(KnowledgeRequest.Kind.FORGET, q.question(), q.answer(), TemplateRefusal.forQuestion(q.question()), null, first(q)));
            return out;
        }

        private static List<String> first(QaItem q) {
            return q.paraphrasedQuestions().isEmpty() ? List.of() : List.of(q.paraphrasedQuestions().get(0));
        }
    }

    /** Runs one variant on a fresh copy of the model and measures it. */
    public static List<ResultRow> run(String setting, Path model, Split split, Variant v, long seed, Evaluator.Options opts, PrintWriter log) {
        List<ResultRow> rows = new ArrayList<>();
        try (LanguageModel m = LanguageModel.load(model); LanguageModel base = LanguageModel.load(model)) {
            QuestionFormat format = m.questionFormat();
            Update u = MethodRegistry.get(v.method()).apply(m, format, split.requests(), split.retain(), v.settings(), seed);
            List<QaItem> retain = split.retain().subList(0, Math.min(ExperimentRunner.EVAL_CAP, split.retain().size()));
            List<EditItem> edits = new ArrayList<>();
            int e = split.edits().size();
            for (int i = 0; i < e; i++) {
                QaItem q = split.edits().get(i);
                List<String> lp = new ArrayList<>(), la = new ArrayList<>();
                for (int j = i; j < retain.size(); j += e) {
                    lp.add(retain.get(j).question());
                    la.add(retain.get(j).answer());
                }
                List<String> para = q.paraphrasedQuestions();
                edits.add(new EditItem(q.id(), q.question(), null, q.perturbedAnswers().get(0), q.answer(),
                        para.isEmpty() ? List.of() : List.of(para.get(para.size() - 1)), lp, la));
            }
            int n = split.forgets().size();
            if (!edits.isEmpty())
                rows.add(new ResultRow(setting, v.label(), n, seed, "edit", Evaluator.edits(m, base, format, edits, opts).summary(), u.seconds()));
            if (n > 0) rows.add(new ResultRow(setting, v.label(), n, seed, "forget", Evaluator.qa(m, format, split.forgets(), opts).summary(), u.seconds()));
            rows.add(new ResultRow(setting, v.label(), n, seed, "retain", Evaluator.qa(m, format, retain, opts).summary(), u.seconds()));
            Map<String, Double> shown = summary(rows);
            log.printf("%s / %s: edit reliability %.3f, generalization %.3f, forget ROUGE-1 %.3f, retain ROUGE-1 %.3f, locality %.3f (update %.1f s)%n",
                    setting, v.label(), shown.get("edit reliability"), shown.get("edit generalization"), shown.get("forget R1"), shown.get("retain R1"),
                    shown.get("locality"), u.seconds());
        }
        return rows;
    }

    /** The table's columns for one variant's rows. */
    static Map<String, Double> summary(List<ResultRow> rows) {
        Map<String, Double> m = new LinkedHashMap<>();
        ResultRow edit = find(rows, "edit"), forget = find(rows, "forget"), retain = find(rows, "retain");
        m.put("edit reliability", edit == null ? Double.NaN : edit.metric("reliability"));
        m.put("edit generalization", edit == null ? Double.NaN : edit.metric("generalization"));
        m.put("forget R1", forget == null ? Double.NaN : forget.metric("rouge1_recall"));
        m.put("forget Prob", forget == null ? Double.NaN : forget.metric("probability"));
        m.put("retain R1", retain == null ? Double.NaN : retain.metric("rouge1_recall"));
        m.put("locality", edit == null ? Double.NaN : edit.metric("locality"));
        return m;
    }

    private static ResultRow find(List<ResultRow> rows, String split) {
        for (ResultRow r : rows) if (r.split().equals(split)) return r;
        return null;
    }

    /** The combined-task table: one line per method. */
    public static String markdown(List<ResultRow> rows, String title) {
        StringBuilder sb = new StringBuilder("# ").append(title).append("\n\n| method | edit reliability ↑ | edit generalization ↑ | forget R1 ↓ | forget Prob ↓ | retain R1 ↑ | locality ↑ | update s |\n|---|---|---|---|---|---|---|---|\n");
        for (String method : rows.stream().map(ResultRow::method).distinct().toList()) {
            List<ResultRow> mine = rows.stream().filter(r -> r.method().equals(method)).toList();
            sb.append("| ").append(method).append(" |");
            for (double v : summary(mine).values()) sb.append(Double.isNaN(v) ? " – |" : String.format(" %.3f |", v));
            sb.append(String.format(" %.1f |%n", mine.get(0).updateSeconds()));
        }
        sb.append("\nEdit reliability / generalization: teacher-forced top-1 accuracy of the new target on the edited question / on a paraphrase no method saw; "
                + "locality: share of retain-answer tokens whose top prediction is unchanged; R1: ROUGE-1 recall of the greedy answer; "
                + "Prob: answer probability (per-token normalised).\n");
        return sb.toString();
    }
}
