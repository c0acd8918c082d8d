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

    @Test
    void qaMetricsAgreeWithTheReference() throws IOException {
        CausalLM net = TinyModels.randomNet(TinyModels.llamaConfig(), 71);
        Path dir = TinyModels.writeDir(tmp.resolve("m"), TinyModels.llamaConfig(), net, DType.F32, true);
        StringBuilder json = new StringBuilder("[");
        for (String[] d : DATA)
            json.append(json.length() > 1 ? "," : "").append(String.format(
                    "{\"question\":\"%s\",\"answer\":\"%s\",\"perturbed_answer\":[\"%s\",\"%s\"]}", d[0], d[1], d[2], d[3]));
        Path data = tmp.resolve("qa.json");
        Files.writeString(data, json.append("]").toString());
        CliRun r = CliRun.of("eval", "--model", dir.toString(), "--data", data.toString(), "--format", "tofu",
                "--prompt-template", "{question}", "--max-new-tokens", "3", "--hit-top", "5", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode got = TinyModels.JSON.readTree(r.out());

        ReferenceTransformer ref = new ReferenceTransformer(net.config(), net.parameters());
        double prob = 0, mrr = 0, hit = 0, rouge = 0, truth = 0;
        for (String[] d : DATA) {
            long[] prompt = concat(new long[] {1}, TinyModels.ids(d[0]));
            double[] s = stats(ref, prompt, TinyModels.ids(d[1]));
            prob += Math.exp(s[0] / s[3]);
            mrr += s[1] / s[3];
            hit += s[2] / s[3];
            double wrong = 0;
            for (int w = 2; w < 4; w++) {
                double[] sw = stats(ref, prompt, TinyModels.ids(d[w]));
                wrong += -sw[0] / sw[3];
            }
            double ratio = Math.exp(wrong / 2 - (-s[0] / s[3]));
            truth += Math.max(0, 1 - 1 / ratio);
            rouge += Rouge.rouge1Recall(greedy(ref, prompt, 3), d[1]);
        }
        int n = DATA.length;
        assertEquals(n, got.get("n").asInt());
        assertEquals(prob / n, got.get("probability").asDouble(), 1e-5);
        assertEquals(mrr / n, got.get("mrr").asDouble(), 1e-9);
        assertEquals(hit / n, got.get("hit_rate").asDouble(), 1e-9);
        assertEquals(truth / n, got.get("truth_ratio").asDouble(), 1e-4);
        assertEquals(rouge / n, got.get("rouge1_recall").asDouble(), 1e-9);
        assertTrue(got.has("rougeL_recall") && got.has("sequence_probability") && got.has("refusal_rate"));
        assertTrue(got.has("names_entities") && got.has("repetition_rate"));

        // Perplexity of the model's own greedy answers under itself as the base model: exp of their mean NLL.
        CliRun withBase = CliRun.of("eval", "--model", dir.toString(), "--data", data.toString(), "--format", "tofu",
                "--prompt-template", "{question}", "--max-new-tokens", "3", "--base-model", dir.toString(), "--json");
        double ppl = 0;
        for (String[] d : DATA) {
            long[] prompt = concat(new long[] {1}, TinyModels.ids(d[0]));
            double[] s = stats(ref, prompt, TinyModels.ids(greedy(ref, prompt, 3)));
            ppl += Math.exp(-s[0] / s[3]);
        }
        assertEquals(ppl / n, TinyModels.JSON.readTree(withBase.out()).get("base_perplexity").asDouble(), 1e-4);

        // Forget quality of a model against itself: identical truth-ratio samples, KS p-value 1.
        CliRun self = CliRun.of("eval", "--model", dir.toString(), "--data", data.toString(), "--format", "tofu",
                "--prompt-template", "{question}", "--max-new-tokens", "3", "--reference-model", dir.toString(), "--json");
        JsonNode fq = TinyModels.JSON.readTree(self.out());
        assertEquals(1.0, fq.get("forget_quality").asDouble(), 1e-12);
        double utility = 3 / (1 / fq.get("probability").asDouble() + 1 / fq.get("rouge1_recall").asDouble()
                + 1 / fq.get("truth_ratio").asDouble());
        if (fq.get("rouge1_recall").asDouble() > 0) assertEquals(utility, fq.get("model_utility").asDouble(), 1e-9);
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
