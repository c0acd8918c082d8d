package dev.palimpsest.eval;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

import dev.palimpsest.data.EditItem;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.model.Scorer;
import dev.palimpsest.model.Tokenizer;

/**
 * Runs the papers' metrics on a model. Question-answer sets: ROUGE-1 and ROUGE-L recall of the greedy
 * answer, the answer's probability under teacher forcing (per-token normalised, and raw), mean
 * reciprocal rank and top-m hit ratio of its tokens, TOFU's truth ratio where wrong answers are given,
 * the share of answers that refuse, how often they name the question's entities, their repetition
 * rate and (given a base model) their perplexity under it. Edit sets: reliability and generalization (teacher-forced
 * token accuracy of the new target at the edit prompt and at its rephrasings) and locality (share of
 * unrelated-prompt tokens whose top prediction matches the base model's).
 */
public final class Evaluator {
    private Evaluator() {}

    public record Options(int maxNewTokens, int batchSize, int hitTop) {
        public static final Options DEFAULT = new Options(32, 32, 100);
    }

    public record QaRow(String id, String question, String answer, String generated, double rouge1Recall,
            double rougeLRecall, double probability, double sequenceProbability, double mrr, double hitRate,
            Double truthRatio, boolean refused, double namesEntities, double repetition, Double basePerplexity) {}

    public record QaResult(List<QaRow> rows) {
        /** The truth ratios of the rows that have one, for TOFU's forget quality. */
        public double[] truthRatios() {
            return rows.stream().filter(r -> r.truthRatio() != null).mapToDouble(QaRow::truthRatio).toArray();
        }

        public double mean(ToDoubleFunction<QaRow> f) {
            return rows.stream().mapToDouble(f).average().orElse(Double.NaN);
        }

        /** The means, keyed as the JSON output names them. */
        public Map<String, Object> summary() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("n", rows.size());
            m.put("rouge1_recall", mean(QaRow::rouge1Recall));
            m.put("rougeL_recall", mean(QaRow::rougeLRecall));
            m.put("probability", mean(QaRow::probability));
            m.put("sequence_probability", mean(QaRow::sequenceProbability));
            m.put("mrr", mean(QaRow::mrr));
            m.put("hit_rate", mean(QaRow::hitRate));
            double[] ratios = rows.stream().filter(r -> r.truthRatio() != null).mapToDouble(QaRow::truthRatio).toArray();
            if (ratios.length > 0) {
                m.put("truth_ratio", TruthRatio.retainStat(ratios));
                m.put("truth_ratio_forget", TruthRatio.forgetStat(ratios));
                m.put("model_utility", ForgetQuality.modelUtility(mean(QaRow::probability), mean(QaRow::rouge1Recall),
                        TruthRatio.retainStat(ratios)));
            }
            m.put("refusal_rate", mean(r -> r.refused() ? 1 : 0));
            m.put("names_entities", mean(QaRow::namesEntities));
            m.put("repetition_rate", mean(QaRow::repetition));
            double[] ppl = rows.stream().filter(r -> r.basePerplexity() != null).mapToDouble(QaRow::basePerplexity).toArray();
            if (ppl.length > 0) m.put("base_perplexity", java.util.Arrays.stream(ppl).average().orElse(Double.NaN));
            return m;
        }
    }

    public record EditResult(int n, double reliability, double generalization, Double locality) {
        public Map<String, Object> summary() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("n", n);
            m.put("reliability", reliability);
            m.put("generalization", generalization);
            if (locality != null) m.put("locality", locality);
            return m;
        }
    }

    public static QaResult qa(LanguageModel m, QuestionFormat f, List<QaItem> items, Options o) {
        return qa(m, null, f, items, o);
    }

    /**
     * As {@link #qa(LanguageModel, QuestionFormat, List, Options)}; with a base model, also the
     * perplexity of each greedy answer under it (how natural the answer reads to the original model).
     */
    public static QaResult qa(LanguageModel m, LanguageModel base, QuestionFormat f, List<QaItem> items, Options o) {
        Tokenizer tok = m.tokenizer();
        List<long[]> prompts = new ArrayList<>(), answers = new ArrayList<>();
        for (QaItem q : items) {
            prompts.add(tok.encodePrompt(f.prompt(q.question())));
            answers.add(tok.encode(f.answer(q.answer())));
        }
        List<Scorer.Scored> scored = Scorer.scoreIds(m.net(), prompts, answers, o.batchSize(), tok.padId());
        List<String> generated = Answers.greedy(m, f, items.stream().map(QaItem::question).toList(), o.maxNewTokens(),
                o.batchSize());
        Double[] ratios = truthRatios(m, f, items, prompts, o);
        Double[] perplexity = new Double[items.size()];
        if (base != null) {
            List<long[]> bp = new ArrayList<>(), bt = new ArrayList<>();
            List<Integer> which = new ArrayList<>();
            for (int i = 0; i < items.size(); i++) {
                long[] ids = base.tokenizer().encode(f.answer(generated.get(i)));
                if (ids.length == 0) continue;
                bp.add(base.tokenizer().encodePrompt(f.prompt(items.get(i).question())));
                bt.add(ids);
                which.add(i);
            }
            List<Scorer.Scored> bs = bp.isEmpty() ? List.of() : Scorer.scoreIds(base.net(), bp, bt, o.batchSize(), base.tokenizer().padId());
            for (int k = 0; k < which.size(); k++) perplexity[which.get(k)] = 1 / bs.get(k).normalizedProbability();
        }
        List<QaRow> rows = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            QaItem q = items.get(i);
            Scorer.Scored s = scored.get(i);
            String g = generated.get(i);
            rows.add(new QaRow(q.id(), q.question(), q.answer(), g, Rouge.rouge1Recall(g, q.answer()),
                    Rouge.rougeLRecall(g, q.answer()), s.normalizedProbability(), Math.exp(s.sum()), s.reciprocalRank(),
                    s.hitRatio(o.hitTop()), ratios[i], Refusals.isRefusal(g), RefusalQuality.namesEntities(q.question(), g),
                    RefusalQuality.repetitionRate(g), perplexity[i]));
        }
        return new QaResult(rows);
    }

    /** Truth ratios of the items that have wrong answers (null for the others), all scored in one pass. */
    private static Double[] truthRatios(LanguageModel m, QuestionFormat f, List<QaItem> items, List<long[]> prompts,
            Options o) {
        Tokenizer tok = m.tokenizer();
        List<long[]> p = new ArrayList<>(), t = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            QaItem q = items.get(i);
            if (q.perturbedAnswers().isEmpty()) continue;
            p.add(prompts.get(i));
            t.add(tok.encode(f.answer(q.paraphrasedAnswer() != null ? q.paraphrasedAnswer() : q.answer())));
            for (String w : q.perturbedAnswers()) {
                p.add(prompts.get(i));
                t.add(tok.encode(f.answer(w)));
            }
        }
        Double[] out = new Double[items.size()];
        if (p.isEmpty()) return out;
        List<Scorer.Scored> s = Scorer.scoreIds(m.net(), p, t, o.batchSize(), tok.padId());
        int k = 0;
        for (int i = 0; i < items.size(); i++) {
            int wrong = items.get(i).perturbedAnswers().size();
            if (wrong == 0) continue;
            out[i] = TruthRatio.ratio(s.get(k), s.subList(k + 1, k + 1 + wrong));
            k += 1 + wrong;
        }
        return out;
    }

    /**
     * Edit metrics, with the prompts put to the model in {@code format} — the same format the update used (for
     * the editing benchmarks' raw prompts on a base model, the template "{question}"). Reliability and
     * generalization: teacher-forced top-1 accuracy of the target's tokens; locality: share of the locality
     * answer's tokens where the top prediction is the base model's. Locality is measured only against a base model.
     */
    public static EditResult edits(LanguageModel m, LanguageModel base, QuestionFormat format, List<EditItem> items, Options o) {
        Tokenizer tok = m.tokenizer();
        List<long[]> rp = new ArrayList<>(), rt = new ArrayList<>(), gp = new ArrayList<>(), gt = new ArrayList<>(),
                lp = new ArrayList<>(), lt = new ArrayList<>();
        for (EditItem e : items) {
            long[] target = tok.encode(format.answer(e.target()));
            rp.add(tok.encodePrompt(format.prompt(e.prompt())));
            rt.add(target);
            for (String r : e.rephrases()) {
                gp.add(tok.encodePrompt(format.prompt(r)));
                gt.add(target);
            }
            for (int j = 0; j < e.localityPrompts().size(); j++) {
                lp.add(tok.encodePrompt(format.prompt(e.localityPrompts().get(j))));
                lt.add(tok.encode(format.answer(e.localityAnswers().get(j))));
            }
        }
        double reliability = meanAccuracy(Scorer.scoreIds(m.net(), rp, rt, o.batchSize(), tok.padId()));
        double generalization = gp.isEmpty() ? Double.NaN
                : meanAccuracy(Scorer.scoreIds(m.net(), gp, gt, o.batchSize(), tok.padId()));
        Double locality = null;
        if (base != null && !lp.isEmpty()) {
            List<Scorer.Scored> now = Scorer.scoreIds(m.net(), lp, lt, o.batchSize(), tok.padId());
            List<Scorer.Scored> before = Scorer.scoreIds(base.net(), lp, lt, o.batchSize(), base.tokenizer().padId());
            double s = 0;
            for (int i = 0; i < now.size(); i++) {
                long[] a = now.get(i).top(), b = before.get(i).top();
                int same = 0;
                for (int j = 0; j < a.length; j++) if (a[j] == b[j]) same++;
                s += (double) same / a.length;
            }
            locality = s / now.size();
        }
        return new EditResult(items.size(), reliability, generalization, locality);
    }

    private static double meanAccuracy(List<Scorer.Scored> s) {
        return s.stream().mapToDouble(Scorer.Scored::accuracy).average().orElse(Double.NaN);
    }
}
