package dev.palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import dev.palimpsest.eval.Rouge;
import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.DType;
import dev.palimpsest.model.ReferenceTransformer;
import dev.palimpsest.model.TinyModels;

/** `eval --json` on a tiny model against the same metrics computed from the reference forward pass. */
class EvalCliTest {
    @TempDir
    Path tmp;

    static final String[][] DATA = {{"the capital of france is", "paris", "red", "blue"},
            {"who wrote the book ?", "a cat", "one two", "three"}, {"the river flows through the", "city", "mat", "end"}};

    Path writeQa(String name, String[][] rows) throws IOException {
        StringBuilder json = new StringBuilder("[");
        for (String[] d : rows)
            json.append(json.length() > 1 ? "," : "").append(String.format(
                    "{\"question\":\"%s\",\"answer\":\"%s\",\"perturbed_answer\":[\"%s\",\"%s\"]}", d[0], d[1], d[2], d[3]));
        Path data = tmp.resolve(name);
        Files.writeString(data, json.append("]").toString());
        return data;
    }

    static JsonNode evalJson(Path model, Path data, String... extra) throws IOException {
        List<String> args = new ArrayList<>(List.of("eval", "--model", model.toString(), "--data", data.toString(), "--format", "tofu",
                "--prompt-template", "{question}", "--json"));
        args.addAll(List.of(extra));
        CliRun r = CliRun.of(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        return TinyModels.JSON.readTree(r.out());
    }

    /** The per-item values the reference forward pass gives for DATA: {probability, per-token, mrr, hit, truth ratio, option probability}. */
    static double[][] expected(ReferenceTransformer ref, boolean greedyRanks) {
        double[][] out = new double[DATA.length][];
        for (int i = 0; i < DATA.length; i++) {
            String[] d = DATA[i];
            long[] prompt = concat(new long[] {1}, TinyModels.ids(d[0])), answer = TinyModels.ids(d[1]);
            double[] s = stats(ref, prompt, answer);
            double[] ranked = greedyRanks ? greedyStepStats(ref, prompt, answer) : s;
            double wrongNll = 0, wrongProb = 0;
            for (int w = 2; w < 4; w++) {
                double[] sw = stats(ref, prompt, TinyModels.ids(d[w]));
                wrongNll += -sw[0] / sw[3];
                wrongProb += Math.exp(sw[0] / sw[3]);
            }
            double perToken = Math.exp(s[0] / s[3]);
            out[i] = new double[] {Math.exp(s[0]), perToken, ranked[1] / s[3], ranked[2] / s[3],
                    Math.exp(wrongNll / 2 - (-s[0] / s[3])), perToken / (perToken + wrongProb)};
        }
        return out;
    }

    static double mean(double[][] rows, int col) {
        return Arrays.stream(rows).mapToDouble(r -> r[col]).average().orElseThrow();
    }

    @Test
    void qaMetricsAgreeWithTheReference() throws IOException {
        CausalLM net = TinyModels.randomNet(TinyModels.llamaConfig(), 71);
        Path dir = TinyModels.writeDir(tmp.resolve("m"), TinyModels.llamaConfig(), net, DType.F32, true);
        Path data = writeQa("qa.json", DATA);
        ReferenceTransformer ref = new ReferenceTransformer(net.config(), net.parameters());
        int n = DATA.length;

        JsonNode tf = evalJson(dir, data, "--max-new-tokens", "3", "--hit-top", "5", "--ranks", "teacher-forced");
        double[][] want = expected(ref, false);
        double rouge = 0, rougeL = 0;
        for (String[] d : DATA) {
            String g = greedy(ref, concat(new long[] {1}, TinyModels.ids(d[0])), 3);
            rouge += Rouge.rouge1Recall(g, d[1]);
            rougeL += Rouge.rougeLRecall(g, d[1]);
        }
        assertEquals(n, tf.get("n").asInt());
        // The editing-as-unlearning paper's Prob.: the product of the answer's token probabilities; TOFU's: per token.
        assertEquals(mean(want, 0), tf.get("probability").asDouble(), 1e-6);
        assertEquals(mean(want, 1), tf.get("probability_per_token").asDouble(), 1e-5);
        assertEquals(mean(want, 2), tf.get("mrr").asDouble(), 1e-9);
        assertEquals(mean(want, 3), tf.get("hit_rate").asDouble(), 1e-9);
        double truth = Arrays.stream(want).mapToDouble(r -> Math.max(0, 1 - 1 / r[4])).average().orElseThrow();
        assertEquals(truth, tf.get("truth_ratio").asDouble(), 1e-4);
        assertEquals(rouge / n, tf.get("rouge1_recall").asDouble(), 1e-9);
        assertEquals("teacher-forced", tf.get("ranks").asText());
        assertTrue(tf.has("rougeL_recall") && tf.has("refusal_rate") && tf.has("names_entities") && tf.has("repetition_rate"));
        // TOFU's utility of this one set: harmonic mean of per-token probability, ROUGE-L recall and truth ratio.
        double setUtility = rougeL == 0 ? 0 : 3 / (1 / mean(want, 1) + n / rougeL + 1 / truth);
        assertEquals(setUtility, tf.get("set_utility").asDouble(), 1e-4);

        // By default, as PISTOL: each answer token ranked at the matching step of the model's own greedy answer.
        JsonNode greedyRanks = evalJson(dir, data, "--max-new-tokens", "3", "--hit-top", "5");
        double[][] wantGreedy = expected(ref, true);
        assertEquals("greedy", greedyRanks.get("ranks").asText());
        assertEquals(mean(wantGreedy, 2), greedyRanks.get("mrr").asDouble(), 1e-9);
        assertEquals(mean(wantGreedy, 3), greedyRanks.get("hit_rate").asDouble(), 1e-9);
        assertTrue(mean(wantGreedy, 2) != mean(want, 2), "on this model the two rankings differ, so the test tells them apart");

        // Perplexity of the model's own greedy answers under itself as the base model: exp of their mean NLL.
        JsonNode withBase = evalJson(dir, data, "--max-new-tokens", "3", "--base-model", dir.toString());
        double ppl = 0;
        for (String[] d : DATA) {
            long[] prompt = concat(new long[] {1}, TinyModels.ids(d[0]));
            double[] s = stats(ref, prompt, TinyModels.ids(greedy(ref, prompt, 3)));
            ppl += Math.exp(-s[0] / s[3]);
        }
        assertEquals(ppl / n, withBase.get("base_perplexity").asDouble(), 1e-4);
    }

    @Test
    void tofuAnswersGetTwoHundredTokensAndTheNineNumberUtility() throws IOException {
        CausalLM net = TinyModels.randomNet(TinyModels.llamaConfig(), 71);
        Path dir = TinyModels.writeDir(tmp.resolve("m"), TinyModels.llamaConfig(), net, DType.F32, true);
        Path data = writeQa("qa.json", DATA);
        ReferenceTransformer ref = new ReferenceTransformer(net.config(), net.parameters());
        // No --max-new-tokens on TOFU data: open-unlearning's 200 (here capped by the tiny model's 64 positions).
        JsonNode got = evalJson(dir, data, "--real-authors", data.toString(), "--world-facts", data.toString());
        assertEquals(200, got.get("max_new_tokens").asInt());
        double rougeL = 0;
        int longest = 0, longestPrompt = 0;
        for (String[] d : DATA) longestPrompt = Math.max(longestPrompt, 1 + TinyModels.ids(d[0]).length);
        for (String[] d : DATA) {
            long[] prompt = concat(new long[] {1}, TinyModels.ids(d[0]));
            // A batch generates until its longest prompt fills the context.
            String g = greedy(ref, prompt, 64 - longestPrompt);
            longest = Math.max(longest, g.split(" ").length);
            rougeL += Rouge.rougeLRecall(g, d[1]);
        }
        assertTrue(longest > 32, "some greedy answer runs past the old 32-token budget, so the budget matters here");
        rougeL /= DATA.length;
        assertEquals(rougeL, got.get("retain_rougeL_recall").asDouble(), 1e-9);
        // Real authors and world facts (here the same file): the answer's per-token probability over itself plus the wrong ones'.
        double[][] want = expected(ref, true);
        double truth = Arrays.stream(want).mapToDouble(r -> Math.max(0, 1 - 1 / r[4])).average().orElseThrow();
        assertEquals(mean(want, 5), got.get("real_authors_prob_normalised").asDouble(), 1e-5);
        assertEquals(mean(want, 5), got.get("world_facts_prob_normalised").asDouble(), 1e-5);
        double[] nine = {mean(want, 1), rougeL, truth, mean(want, 5), rougeL, truth, mean(want, 5), rougeL, truth};
        double inv = 0;
        for (double v : nine) inv += 1 / v;
        assertEquals(rougeL == 0 ? 0 : 9 / inv, got.get("model_utility").asDouble(), 1e-4);
    }

    @Test
    void forgetQualityFromAReferenceModelOrItsSavedTruthRatios() throws IOException {
        CausalLM net = TinyModels.randomNet(TinyModels.llamaConfig(), 71), other = TinyModels.randomNet(TinyModels.llamaConfig(), 75);
        Path dir = TinyModels.writeDir(tmp.resolve("m"), TinyModels.llamaConfig(), net, DType.F32, true);
        Path otherDir = TinyModels.writeDir(tmp.resolve("o"), TinyModels.llamaConfig(), other, DType.F32, true);
        String[][] more = new String[DATA.length * 2][];
        for (int i = 0; i < more.length; i++) {
            String[] d = DATA[i % DATA.length];
            more[i] = i < DATA.length ? d : new String[] {d[0] + " ?", d[2], d[1], d[3]};
        }
        Path data = writeQa("more.json", more);
        double[] mine = truthRatios(new ReferenceTransformer(net.config(), net.parameters()), more);
        double[] theirs = truthRatios(new ReferenceTransformer(other.config(), other.parameters()), more);
        double want = dev.palimpsest.eval.ForgetQuality.pValue(mine, theirs);
        assertTrue(want < 1, "the two models' truth ratios differ, so the p-value is not the trivial 1");

        JsonNode loaded = evalJson(dir, data, "--max-new-tokens", "2", "--reference-model", otherDir.toString());
        assertEquals(want, loaded.get("forget_quality").asDouble(), 1e-9);
        // The reference's run saved per item, then read back instead of loading the model.
        Path saved = tmp.resolve("reference.jsonl");
        evalJson(otherDir, data, "--max-new-tokens", "2", "--per-item", saved.toString());
        List<String> lines = Files.readAllLines(saved);
        assertEquals(more.length, lines.size());
        JsonNode first = TinyModels.JSON.readTree(lines.get(0));
        assertEquals(more[0][0], first.get("question").asText());
        assertEquals(theirs[0], first.get("truth_ratio").asDouble(), 1e-4 * theirs[0]);
        assertEquals(want, evalJson(dir, data, "--max-new-tokens", "2", "--reference-truth-ratios", saved.toString())
                .get("forget_quality").asDouble(), 1e-9);
        // open-unlearning's evaluation JSON holds P(wrong)/P(truth), the inverse of palimpsest's ratio.
        StringBuilder ou = new StringBuilder("{\n  \"forget_truth_ratio\": {\"agg_value\": 0.5, \"value_by_index\": {");
        for (int i = 0; i < theirs.length; i++) ou.append(i > 0 ? ", " : "").append("\"" + i + "\": {\"score\": " + 1 / theirs[i] + "}");
        Path ouFile = tmp.resolve("TOFU_EVAL.json");
        Files.writeString(ouFile, ou.append("}}\n}\n").toString());
        assertEquals(want, evalJson(dir, data, "--max-new-tokens", "2", "--reference-truth-ratios", ouFile.toString())
                .get("forget_quality").asDouble(), 1e-9);
    }

    @Test
    void truthRatioUsesTheParaphrasedAnswerWhereTheDataHasOne() throws IOException {
        CausalLM net = TinyModels.randomNet(TinyModels.llamaConfig(), 71);
        Path dir = TinyModels.writeDir(tmp.resolve("m"), TinyModels.llamaConfig(), net, DType.F32, true);
        ReferenceTransformer ref = new ReferenceTransformer(net.config(), net.parameters());
        // TOFU's truth ratio compares the wrong answers with the paraphrased answer, not with the answer itself.
        Path data = tmp.resolve("para.json");
        Files.writeString(data, "[{\"question\":\"the capital of france is\",\"answer\":\"paris\",\"paraphrased_answer\":\"the city\","
                + "\"perturbed_answer\":[\"red\",\"blue\"]}]");
        double ratio = truthRatios(ref, new String[][] {{"the capital of france is", "the city", "red", "blue"}})[0];
        double notIt = truthRatios(ref, new String[][] {{"the capital of france is", "paris", "red", "blue"}})[0];
        assertTrue(Math.abs(ratio - notIt) > 1e-3 * ratio, "the two branches differ on this model");
        JsonNode got = evalJson(dir, data, "--max-new-tokens", "2");
        assertEquals(Math.max(0, 1 - 1 / ratio), got.get("truth_ratio").asDouble(), 1e-4);
        assertEquals(Math.min(ratio, 1 / ratio), got.get("truth_ratio_forget").asDouble(), 1e-4);
    }

    static double[] truthRatios(ReferenceTransformer ref, String[][] rows) {
        double[] out = new double[rows.length];
        for (int i = 0; i < rows.length; i++) {
            long[] prompt = concat(new long[] {1}, TinyModels.ids(rows[i][0]));
            double[] s = stats(ref, prompt, TinyModels.ids(rows[i][1]));
            double wrong = 0;
            for (int w = 2; w < 4; w++) {
                double[] sw = stats(ref, prompt, TinyModels.ids(rows[i][w]));
                wrong += -sw[0] / sw[3];
            }
            out[i] = Math.exp(wrong / 2 - (-s[0] / s[3]));
        }
        return out;
    }

    /**
     * {unused, sum of 1/rank, hits in top 5, tokens} with token j ranked after the prompt and the model's own first j greedy
     * tokens; once the model has chosen EOS (id 2), its context continues with EOS.
     */
    static double[] greedyStepStats(ReferenceTransformer ref, long[] prompt, long[] target) {
        List<Long> seq = new ArrayList<>();
        for (long id : prompt) seq.add(id);
        boolean ended = false;
        double rr = 0, hits = 0;
        for (int j = 0; j < target.length; j++) {
            double[][] logits = ref.logits(seq.stream().mapToLong(Long::longValue).toArray());
            double[] row = ReferenceTransformer.logSoftmax(logits[logits.length - 1]);
            double own = row[(int) target[j]];
            int rank = 1;
            for (double v : row) if (v > own) rank++;
            rr += 1.0 / rank;
            if (rank <= 5) hits++;
            int best = argmax(row);
            ended |= best == 2;
            seq.add(ended ? 2L : best);
        }
        return new double[] {0, rr, hits, target.length};
    }

    /** {sum of log-probabilities, sum of 1/rank, hits in top 5, tokens} of a target under the reference. */
    static double[] stats(ReferenceTransformer ref, long[] prompt, long[] target) {
        long[] seq = concat(prompt, Arrays.copyOf(target, target.length - 1));
        double[][] logits = ref.logits(seq);
        double lp = 0, rr = 0, hits = 0;
        for (int j = 0; j < target.length; j++) {
            double[] row = ReferenceTransformer.logSoftmax(logits[prompt.length - 1 + j]);
            double own = row[(int) target[j]];
            int rank = 1;
            for (double v : row) if (v > own) rank++;
            lp += own;
            rr += 1.0 / rank;
            if (rank <= 5) hits++;
        }
        return new double[] {lp, rr, hits, target.length};
    }

    static String greedy(ReferenceTransformer ref, long[] prompt, int n) {
        List<Long> seq = new ArrayList<>();
        for (long id : prompt) seq.add(id);
        StringBuilder text = new StringBuilder();
        for (int s = 0; s < n; s++) {
            double[][] logits = ref.logits(seq.stream().mapToLong(Long::longValue).toArray());
            double[] last = logits[logits.length - 1];
            int best = 0;
            for (int v = 1; v < last.length; v++) if (last[v] > last[best]) best = v;
            if (best == 2) break;
            seq.add((long) best);
            text.append(text.length() > 0 ? " " : "").append(TinyModels.VOCAB.get(best));
        }
        return text.toString();
    }

    @Test
    void editMetricsAndLocality() throws IOException {
        CausalLM net = TinyModels.randomNet(TinyModels.llamaConfig(), 73), other = TinyModels.randomNet(TinyModels.llamaConfig(), 74);
        Path a = TinyModels.writeDir(tmp.resolve("a"), TinyModels.llamaConfig(), net, DType.F32, true);
        Path b = TinyModels.writeDir(tmp.resolve("b"), TinyModels.llamaConfig(), other, DType.F32, true);
        Path data = tmp.resolve("cf.json");
        Files.writeString(data, """
                [{"prompt": "the capital of france is", "subject": "france", "target_new": "red", "ground_truth": "paris",
                  "rephrase_prompt": "the city of france is", "locality_prompt": "a cat sat on the", "locality_ground_truth": "mat"}]""");
        CliRun self = CliRun.of("eval", "--model", a.toString(), "--data", data.toString(), "--format", "counterfact",
                "--base-model", a.toString(), "--json");
        assertEquals(0, self.code(), self.err());
        JsonNode s = TinyModels.JSON.readTree(self.out());
        assertEquals(1.0, s.get("locality").asDouble(), 0, "a model is local to itself");
        ReferenceTransformer ref = new ReferenceTransformer(net.config(), net.parameters());
        double[] rel = stats(ref, concat(new long[] {1}, TinyModels.ids("the capital of france is")), TinyModels.ids("red"));
        assertEquals(rel[2] > 0 && rel[1] == 1 ? 1.0 : 0.0, s.get("reliability").asDouble(), 0);
        CliRun vs = CliRun.of("eval", "--model", a.toString(), "--data", data.toString(), "--format", "counterfact",
                "--base-model", b.toString(), "--json");
        // Locality against another model: does each model's top token for "mat" after the locality prompt agree?
        long[] loc = concat(new long[] {1}, TinyModels.ids("a cat sat on the"));
        ReferenceTransformer refOther = new ReferenceTransformer(other.config(), other.parameters());
        boolean same = argmax(ref.logits(loc)[loc.length - 1]) == argmax(refOther.logits(loc)[loc.length - 1]);
        assertEquals(same ? 1.0 : 0.0, TinyModels.JSON.readTree(vs.out()).get("locality").asDouble(), 0);
    }

    static int argmax(double[] row) {
        int best = 0;
        for (int v = 1; v < row.length; v++) if (row[v] > row[best]) best = v;
        return best;
    }

    static long[] concat(long[] a, long[] b) {
        long[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
