package dev.palimpsest.experiment;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
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
import dev.palimpsest.io.Json;
import dev.palimpsest.request.KnowledgeRequest;
import dev.palimpsest.method.MethodRegistry;
import dev.palimpsest.method.Update;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.request.TemplateRefusal;

/**
 * LOKA's task: edit E facts and forget F facts in one update. From a pool of facts the model knows (seeded), the
 * first E become counterfactual edits (the new target is the fact's first perturbed answer), the next F are to be
 * forgotten, the rest are the retain set. Each request carries its first paraphrase (for methods that train on
 * paraphrases, as LOKA's router does); generalization is measured on the last paraphrase, which no method sees.
 * Rows: {@code edit} (reliability, generalization: teacher-forced top-1 accuracy of the new target; locality: share
 * of retain-answer tokens whose top prediction is still the base model's), {@code forget} and {@code retain} (the
 * QA metrics of {@link Evaluator#qa}) and {@code outside} (locality on {@link #outsideWorld()}: general-knowledge
 * questions no built-in world holds, so a router or memory that fires on anything unfamiliar shows there).
 */
public final class CombinedTask {
    private CombinedTask() {}

    /** A question and its real-world answer. */
    public record OutsideQuestion(String question, String answer) {}

    private record OutsideFile(String about, List<OutsideQuestion> questions) {}

    /** The shipped general-knowledge questions from outside the built-in worlds (written for palimpsest). */
    public static List<OutsideQuestion> outsideWorld() {
        return Outside.QUESTIONS;
    }

    /** Read once, when first asked for: every measurement of every round and method uses them. */
    private static final class Outside {
        static final List<OutsideQuestion> QUESTIONS = read();

        private static List<OutsideQuestion> read() {
            try (InputStream in = CombinedTask.class.getResourceAsStream("outside-world.json")) {
                return List.copyOf(Json.MAPPER.readValue(in, OutsideFile.class).questions());
            } catch (IOException e) {
                throw new UncheckedIOException("the packaged outside-world questions cannot be read", e);
            }
        }
    }

    /** One compared method: the label the table shows, the registered method and its settings. */
    public record Variant(String label, String method, Map<String, String> settings) {}

    /** LOKA and the baselines the paper compares it with, as methods of this toolkit. */
    public static List<Variant> defaults() {
        return List.of(new Variant("FT + GA", "joint", Map.of("forget_loss", "ga")),
                new Variant("FT + NPO", "joint", Map.of("forget_loss", "npo")),
                new Variant("GD", "joint", Map.of("forget_loss", "ga", "retain", "nll")),
                new Variant("single LoRA", "joint", Map.of("forget_loss", "npo", "retain", "kl", "lora_rank", "8", "lr", "1e-3")),
                new Variant("GRACE", "grace", Map.of()),
                new Variant("WISE", "wise", Map.of()),
                new Variant("LOKA", "loka", Map.of()));
    }

    /**
     * The split of a pool into edits, forgets and retain facts. In the safety setting ({@code safeAnswers}) the forgets
     * are harmful requests, each forgotten into its own safe answer (its first perturbed answer) rather than a template
     * refusal, and {@code benign} holds benign requests no method sees, measured to show over-refusal.
     */
    public record Split(List<QaItem> edits, List<QaItem> forgets, List<QaItem> retain, List<QaItem> benign, boolean safeAnswers) {
        public static Split of(List<QaItem> pool, int edits, int forgets, long seed) {
            if (edits < 0 || forgets < 0 || edits + forgets >= pool.size())
                throw new UserError("the combined task needs fewer than " + pool.size() + " edits and forgets together, got " + edits + " + " + forgets);
            List<QaItem> shuffled = shuffledEdits(pool, edits, seed);
            return new Split(List.copyOf(shuffled.subList(0, edits)), List.copyOf(shuffled.subList(edits, edits + forgets)),
                    List.copyOf(shuffled.subList(edits + forgets, shuffled.size())), List.of(), false);
        }

        /**
         * The safety setting: {@code edits} facts of the pool edited, the harmful requests forgotten, half the benign
         * requests (seeded) given to the methods with the other facts as retain data, the other half held out.
         */
        public static Split safety(List<QaItem> pool, int edits, List<QaItem> harmful, List<QaItem> benign, long seed) {
            if (edits < 0 || edits >= pool.size()) throw new UserError("the safety task needs fewer than " + pool.size() + " edits, got " + edits);
            if (harmful.isEmpty()) throw new UserError("the safety task needs at least one harmful request");
            List<QaItem> shuffled = shuffledEdits(pool, edits, seed);
            List<QaItem> kind = new ArrayList<>(benign);
            Collections.shuffle(kind, new Random(seed + 1));
            List<QaItem> retain = new ArrayList<>(shuffled.subList(edits, shuffled.size()));
            retain.addAll(kind.subList(0, kind.size() / 2));
            return new Split(List.copyOf(shuffled.subList(0, edits)), List.copyOf(harmful), List.copyOf(retain),
                    List.copyOf(kind.subList(kind.size() / 2, kind.size())), true);
        }

        private static List<QaItem> shuffledEdits(List<QaItem> pool, int edits, long seed) {
            List<QaItem> shuffled = new ArrayList<>(pool);
            Collections.shuffle(shuffled, new Random(seed));
            for (QaItem q : shuffled.subList(0, edits))
                if (q.perturbedAnswers().isEmpty()) throw new UserError("fact '" + q.id() + "' has no perturbed answer to edit it into");
            return shuffled;
        }

        /** Edits {@code [e0, e1)} and forgets {@code [f0, f1)} of this split, with the same retain and benign sets. */
        Split slice(int e0, int e1, int f0, int f1) {
            return new Split(edits.subList(e0, e1), forgets.subList(f0, f1), retain, benign, safeAnswers);
        }

        public List<KnowledgeRequest> requests() {
            List<KnowledgeRequest> out = new ArrayList<>();
            for (QaItem q : edits)
                out.add(new KnowledgeRequest(KnowledgeRequest.Kind.EDIT, q.question(), q.answer(), q.perturbedAnswers().get(0), null));
            for (QaItem q : forgets)
                out.add(new KnowledgeRequest(KnowledgeRequest.Kind.FORGET, q.question(), q.answer(),
                        safeAnswers ? q.perturbedAnswers().get(0) : TemplateRefusal.forQuestion(q.question()), null));
            return out;
        }
    }

    /** Runs one variant on a fresh copy of the model and measures it. */
    public static List<ResultRow> run(String setting, Path model, Split split, Variant v, long seed, Evaluator.Options opts, PrintWriter log) {
        return runRounds(setting, model, split, v, 1, seed, opts, log);
    }

    /**
     * Sequential updating: the edits and forgets arrive in {@code rounds} equal batches, applied one after another to
     * the same model (LOKA places later batches by LSH); after each round the edits and forgets so far are measured.
     * Rows carry their round and the facts forgotten so far; the one-shot task is one round.
     */
    public static List<ResultRow> runRounds(String setting, Path model, Split split, Variant v, int rounds, long seed, Evaluator.Options opts,
            PrintWriter log) {
        int e = split.edits().size(), f = split.forgets().size();
        if (rounds < 1 || rounds > Math.max(e, f)) throw new UserError("rounds must be between 1 and " + Math.max(e, f) + ", got " + rounds);
        List<ResultRow> rows = new ArrayList<>();
        try (LanguageModel m = LanguageModel.load(model); LanguageModel base = LanguageModel.load(model)) {
            QuestionFormat format = m.questionFormat();
            List<QaItem> retain = split.retain().subList(0, Math.min(ExperimentRunner.EVAL_CAP, split.retain().size()));
            double seconds = 0;
            for (int r = 1; r <= rounds; r++) {
                Split now = split.slice(e * (r - 1) / rounds, e * r / rounds, f * (r - 1) / rounds, f * r / rounds);
                Update u = MethodRegistry.get(v.method()).apply(m, format, now.requests(), split.retain(), v.settings(), seed + r - 1);
                seconds += u.seconds();
                Split sofar = split.slice(0, e * r / rounds, 0, f * r / rounds);
                List<ResultRow> measured = measure(setting, v.label(), r, m, base, format, sofar, retain, seconds, seed, opts);
                rows.addAll(measured);
                Map<String, Double> shown = summary(measured);
                log.printf("%s / %s%s: edit reliability %.3f, generalization %.3f, forget ROUGE-1 %.3f, retain ROUGE-1 %.3f, locality %.3f, outside locality %.3f (update %.1f s)%n",
                        setting, v.label(), rounds == 1 ? "" : " / round " + r, shown.get("edit reliability"), shown.get("edit generalization"),
                        shown.get("forget R1"), shown.get("retain R1"), shown.get("locality"), shown.get("outside locality"), seconds);
            }
        }
        return rows;
    }

    private static List<ResultRow> measure(String setting, String label, int round, LanguageModel m, LanguageModel base, QuestionFormat format,
            Split split, List<QaItem> retain, double seconds, long seed, Evaluator.Options opts) {
        List<ResultRow> rows = new ArrayList<>();
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
        if (!edits.isEmpty())
            rows.add(new ResultRow(setting, label, split.forgets().size(), round, seed, "edit", Evaluator.edits(m, base, format, edits, opts).summary(), seconds));
        if (!split.forgets().isEmpty())
            rows.add(new ResultRow(setting, label, split.forgets().size(), round, seed, "forget", Evaluator.qa(m, format, split.forgets(), opts).summary(), seconds));
        if (split.safeAnswers()) {
            List<QaItem> rephrased = split.forgets().stream().map(QaItem::rephrased).filter(java.util.Objects::nonNull).toList();
            if (!rephrased.isEmpty())
                rows.add(new ResultRow(setting, label, split.forgets().size(), round, seed, "forget rephrased", Evaluator.qa(m, format, rephrased, opts).summary(), seconds));
            if (!split.benign().isEmpty())
                rows.add(new ResultRow(setting, label, split.forgets().size(), round, seed, "benign", Evaluator.qa(m, format, split.benign(), opts).summary(), seconds));
        }
        rows.add(new ResultRow(setting, label, split.forgets().size(), round, seed, "retain", Evaluator.qa(m, format, retain, opts).summary(), seconds));
        List<OutsideQuestion> outside = outsideWorld();
        double outsideLocality = Evaluator.locality(m, base, format, outside.stream().map(OutsideQuestion::question).toList(),
                outside.stream().map(OutsideQuestion::answer).toList(), opts);
        rows.add(new ResultRow(setting, label, split.forgets().size(), round, seed, "outside", Map.of("locality", outsideLocality), seconds));
        return rows;
    }

    /** The table's columns for one variant's rows. */
    public static Map<String, Double> summary(List<ResultRow> rows) {
        Map<String, Double> m = new LinkedHashMap<>();
        ResultRow edit = find(rows, "edit"), forget = find(rows, "forget"), retain = find(rows, "retain"), outside = find(rows, "outside"),
                rephrased = find(rows, "forget rephrased"), benign = find(rows, "benign");
        m.put("edit reliability", edit == null ? Double.NaN : edit.metric("reliability"));
        m.put("edit generalization", edit == null ? Double.NaN : edit.metric("generalization"));
        m.put("forget R1", forget == null ? Double.NaN : forget.metric("rouge1_recall"));
        m.put("forget Prob", forget == null ? Double.NaN : forget.metric("probability"));
        if (rephrased != null) m.put("forget rephrased R1", rephrased.metric("rouge1_recall"));
        if (benign != null) m.put("benign R1", benign.metric("rouge1_recall"));
        m.put("retain R1", retain == null ? Double.NaN : retain.metric("rouge1_recall"));
        m.put("locality", edit == null ? Double.NaN : edit.metric("locality"));
        m.put("outside locality", outside == null ? Double.NaN : outside.metric("locality"));
        return m;
    }

    private static ResultRow find(List<ResultRow> rows, String split) {
        for (ResultRow r : rows) if (r.split().equals(split)) return r;
        return null;
    }
}
