package dev.palimpsest.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

import dev.palimpsest.UserError;
import dev.palimpsest.data.EditItem;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.model.Generator;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.model.Scorer;
import dev.palimpsest.model.Tokenizer;

/**
 * Runs the papers' metrics on a model. Question-answer sets: ROUGE-1 and ROUGE-L recall of the greedy
 * answer, the answer's probability under teacher forcing (the product of its token probabilities, the
 * editing-as-unlearning paper's "Prob.", and TOFU's per-token normalisation of it), mean reciprocal rank and
 * top-m hit ratio of its tokens (ranked as {@link Ranks} says), TOFU's truth ratio where wrong answers are given,
 * the share of answers that refuse, how often they name the question's entities, their repetition
 * rate and (given a base model) their perplexity under it. Edit sets: reliability and generalization (teacher-forced
 * token accuracy of the new target at the edit prompt and at its rephrasings) and locality (share of
 * unrelated-prompt tokens whose top prediction matches the base model's).
 */
public final class Evaluator {
    private Evaluator() {}

    /**
     * Where MRR and the hit ratio rank the answer's tokens. GREEDY, as PISTOL's evaluation code does (and so the
     * editing-as-unlearning paper's tables): token j of the answer is ranked in the distribution the model has at
     * step j of its own greedy answer; after the model ends its answer, its context continues with EOS tokens (what
     * a batched generate pads finished rows with). TEACHER_FORCED: ranked after the prompt and the answer's own
     * first j tokens.
     */
    public enum Ranks {
        GREEDY, TEACHER_FORCED;

        public static Ranks parse(String s) {
            return switch (s) {
                case "greedy" -> GREEDY;
                case "teacher-forced" -> TEACHER_FORCED;
                default -> throw new UserError("--ranks must be greedy or teacher-forced, not '" + s + "'");
            };
        }

        public String label() {
            return name().toLowerCase().replace('_', '-');
        }
    }

    public record Options(int maxNewTokens, int batchSize, int hitTop, Ranks ranks) {
        public static final Options DEFAULT = new Options(32, 32, 100, Ranks.GREEDY);
    }

    /**
     * One question's values. {@code probability}: P(answer | question), the product of its token probabilities;
     * {@code probabilityPerToken}: its geometric mean per token (TOFU's); {@code optionProbability}: that per-token
     * probability as a share of itself plus the wrong answers' (TOFU's normalisation for real authors and world facts;
     * null without wrong answers).
     */
    public record QaRow(String id, String question, String answer, String generated, double rouge1Recall,
            double rougeLRecall, double probability, double probabilityPerToken, double mrr, double hitRate,
            Double truthRatio, Double optionProbability, boolean refused, double namesEntities, double repetition, Double basePerplexity) {}

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
            m.put("probability_per_token", mean(QaRow::probabilityPerToken));
            m.put("mrr", mean(QaRow::mrr));
            m.put("hit_rate", mean(QaRow::hitRate));
            double[] ratios = rows.stream().filter(r -> r.truthRatio() != null).mapToDouble(QaRow::truthRatio).toArray();
            if (ratios.length > 0) {
                m.put("truth_ratio", TruthRatio.retainStat(ratios));
                m.put("truth_ratio_forget", TruthRatio.forgetStat(ratios));
                m.put("set_utility", ModelUtility.ofSet(this));
            }
            m.put("refusal_rate", mean(r -> r.refused() ? 1 : 0));
            m.put("names_entities", mean(QaRow::namesEntities));
            m.put("repetition_rate", mean(QaRow::repetition));
            double[] ppl = rows.stream().filter(r -> r.basePerplexity() != null).mapToDouble(QaRow::basePerplexity).toArray();
            if (ppl.length > 0) m.put("base_perplexity", Arrays.stream(ppl).average().orElse(Double.NaN));
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
        // One greedy pass serves ROUGE (its first maxNewTokens tokens) and the greedy ranks (as many steps as the answer).
        int steps = o.maxNewTokens();
        if (o.ranks() == Ranks.GREEDY) for (long[] a : answers) steps = Math.max(steps, a.length);
        List<Generator.Generation> greedy = Generator.greedy(m, items.stream().map(q -> f.prompt(q.question())).toList(),
                steps, o.batchSize());
        List<String> generated = new ArrayList<>();
        for (Generator.Generation g : greedy)
            generated.add((g.tokens().length <= o.maxNewTokens() ? g.text()
                    : tok.decode(Arrays.copyOf(g.tokens(), o.maxNewTokens()))).strip());
        List<Scorer.Scored> ranked = o.ranks() == Ranks.TEACHER_FORCED ? scored
                : Scorer.scoreAlong(m.net(), prompts, greedyContexts(tok, greedy, answers), answers, o.batchSize(), tok.padId());
        Wrong[] wrong = wrongAnswers(m, f, items, prompts, o);
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
            Scorer.Scored s = scored.get(i), r = ranked.get(i);
            String g = generated.get(i);
            rows.add(new QaRow(q.id(), q.question(), q.answer(), g, Rouge.rouge1Recall(g, q.answer()),
                    Rouge.rougeLRecall(g, q.answer()), Math.exp(s.sum()), s.normalizedProbability(), r.reciprocalRank(),
                    r.hitRatio(o.hitTop()), wrong[i] == null ? null : wrong[i].truthRatio(),
                    wrong[i] == null ? null : s.normalizedProbability() / (s.normalizedProbability() + wrong[i].probabilitySum()),
                    Refusals.isRefusal(g), RefusalQuality.namesEntities(q.question(), g),
                    RefusalQuality.repetitionRate(g), perplexity[i]));
        }
        return new QaResult(rows);
    }

    /**
     * For each answer, what the model read while it answered greedily, cut or extended to the answer's length:
     * its own tokens, then EOS (the pad id where the tokenizer has no EOS).
     */
    static List<long[]> greedyContexts(Tokenizer tok, List<Generator.Generation> greedy, List<long[]> answers) {
        long end = tok.eosIds().isEmpty() ? tok.padId() : tok.eosIds().iterator().next();
        List<long[]> out = new ArrayList<>();
        for (int i = 0; i < answers.size(); i++) {
            long[] own = greedy.get(i).tokens(), c = new long[answers.get(i).length];
            for (int j = 0; j < c.length; j++) c[j] = j < own.length ? own[j] : end;
            out.add(c);
        }
        return out;
    }

    /** What the wrong answers of one question say: its truth ratio, and the sum of their per-token probabilities. */
    private record Wrong(double truthRatio, double probabilitySum) {}

    /** The items that have wrong answers (null for the others), all scored in one pass. */
    private static Wrong[] wrongAnswers(LanguageModel m, QuestionFormat f, List<QaItem> items, List<long[]> prompts,
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
        Wrong[] out = new Wrong[items.size()];
        if (p.isEmpty()) return out;
        List<Scorer.Scored> s = Scorer.scoreIds(m.net(), p, t, o.batchSize(), tok.padId());
        int k = 0;
        for (int i = 0; i < items.size(); i++) {
            int n = items.get(i).perturbedAnswers().size();
            if (n == 0) continue;
            List<Scorer.Scored> wrong = s.subList(k + 1, k + 1 + n);
            out[i] = new Wrong(TruthRatio.ratio(s.get(k), wrong), wrong.stream().mapToDouble(Scorer.Scored::normalizedProbability).sum());
            k += 1 + n;
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
        Double locality = base == null || lp.isEmpty() ? null : locality(m, base, lp, lt, o);
        return new EditResult(items.size(), reliability, generalization, locality);
    }

    /**
     * Locality of prompts and answers given as text in {@code format}: the share of each answer's tokens, teacher-forced,
     * where the model's top prediction is still the base model's, averaged over the prompts.
     */
    public static double locality(LanguageModel m, LanguageModel base, QuestionFormat format, List<String> prompts, List<String> answers, Options o) {
        if (prompts.size() != answers.size() || prompts.isEmpty()) throw new IllegalArgumentException("locality needs as many answers as prompts, and some");
        Tokenizer tok = m.tokenizer();
        List<long[]> lp = new ArrayList<>(), lt = new ArrayList<>();
        for (int j = 0; j < prompts.size(); j++) {
            lp.add(tok.encodePrompt(format.prompt(prompts.get(j))));
            lt.add(tok.encode(format.answer(answers.get(j))));
        }
        return locality(m, base, lp, lt, o);
    }

    private static double locality(LanguageModel m, LanguageModel base, List<long[]> lp, List<long[]> lt, Options o) {
        List<Scorer.Scored> now = Scorer.scoreIds(m.net(), lp, lt, o.batchSize(), m.tokenizer().padId());
        List<Scorer.Scored> before = Scorer.scoreIds(base.net(), lp, lt, o.batchSize(), base.tokenizer().padId());
        double s = 0;
        for (int i = 0; i < now.size(); i++) {
            long[] a = now.get(i).top(), b = before.get(i).top();
            int same = 0;
            for (int j = 0; j < a.length; j++) if (a[j] == b[j]) same++;
            s += (double) same / a.length;
        }
        return s / now.size();
    }

    private static double meanAccuracy(List<Scorer.Scored> s) {
        return s.stream().mapToDouble(Scorer.Scored::accuracy).average().orElse(Double.NaN);
    }
}
