package dev.palimpsest.method;

import dev.palimpsest.request.KnowledgeRequest;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.UserError;
import dev.palimpsest.cli.CliHarness;
import dev.palimpsest.data.DataFormat;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.data.QaReader;
import dev.palimpsest.data.Splits;
import dev.palimpsest.eval.Evaluator;
import dev.palimpsest.experiment.ExperimentRunner;
import dev.palimpsest.experiment.ResultRow;
import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.DType;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.TinyModels;
import dev.palimpsest.request.QueryMerging;
import dev.palimpsest.request.RefusalSet;
import dev.palimpsest.request.SelfImprovement;
import dev.palimpsest.request.TemplateRefusal;
import dev.palimpsest.tensor.Tensors;
import dev.palimpsest.world.MicroWorld;

/** The unlearning baselines on the micro world: the qualitative results the papers report. */
class UnlearningMethodsTest {
    @TempDir
    Path tmp;
    static List<QaItem> pool;
    static final Map<String, Map<String, Double>> RESULTS = new HashMap<>();

    @BeforeAll
    static void runAll() {
        pool = QaReader.read(MicroWorld.world("pretrain.json"), DataFormat.WORLD);
        var setting = new ExperimentRunner.Setting("micro", MicroWorld.model(), pool, null);
        for (String m : List.of("none", "ga", "gd", "kl", "idk", "dpo", "dpo refusal_weight=1", "npo")) {
            String[] words = m.split(" ");
            Map<String, String> settings = new HashMap<>(Map.of("lr", "2e-3"));
            for (int i = 1; i < words.length; i++) settings.put(words[i].split("=")[0], words[i].split("=")[1]);
            if (m.equals("none")) settings.clear();
            List<ResultRow> rows = ExperimentRunner.run(new ExperimentRunner.Run(setting, words[0], 10, 0, settings),
                    Evaluator.Options.DEFAULT, new PrintWriter(new StringWriter()));
            Map<String, Double> r = new HashMap<>();
            r.put("forget", rows.get(0).metric("rouge1_recall"));
            r.put("forget prob", rows.get(0).metric("probability"));
            r.put("retain", rows.get(1).metric("rouge1_recall"));
            r.put("refusal", rows.get(0).metric("refusal_rate"));
            RESULTS.put(m, r);
        }
    }

    @Test
    void gradientAscentDrivesForgetRougeDown() {
        assertTrue(RESULTS.get("ga").get("forget") < 0.3, RESULTS.toString());
    }

    @Test
    void gdAndKlKeepMoreOfTheRetainSetThanGa() {
        double ga = RESULTS.get("ga").get("retain");
        for (String m : List.of("gd", "kl")) {
            // The gap depends on the machine's float kernels (0.18 for GD and 0.14 for KL on one machine, over 0.2 on another).
            assertTrue(RESULTS.get(m).get("retain") > ga + 0.1, m + " vs ga: " + RESULTS);
            assertTrue(RESULTS.get(m).get("forget") < 0.6, m + " still forgets: " + RESULTS);
        }
    }

    @Test
    void idkAndDpoWithTheRefusalTermAnswerWithRefusals() {
        for (String m : List.of("idk", "dpo refusal_weight=1")) {
            assertTrue(RESULTS.get(m).get("refusal") >= 0.7, m + ": " + RESULTS);
            assertTrue(RESULTS.get(m).get("retain") >= 0.8, m + ": " + RESULTS);
        }
    }

    @Test
    void plainDpoLowersTheAnswerItDisprefers() {
        // open-unlearning's DPO: the answer's probability falls (0.99 → 0.40 on one machine) while the retain set stays; without
        // the refusal's NLL it produces no refusals and forgets far less than idk (forget R1 0.71 vs 0.0).
        assertTrue(RESULTS.get("dpo").get("forget prob") < 0.6 * RESULTS.get("none").get("forget prob"), RESULTS.toString());
        assertTrue(RESULTS.get("dpo").get("retain") >= 0.8, RESULTS.toString());
    }

    @Test
    void selfImprovedRefusalsNameTheEntityAndNeverTheAnswer() throws IOException {
        List<QaItem> items = pool.subList(0, 8);
        // The world file says which entity each question is about.
        var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(MicroWorld.world("pretrain.json").toFile());
        try (LanguageModel m = LanguageModel.load(MicroWorld.model())) {
            List<String> refusals = SelfImprovement.refusals(m, m.questionFormat(), items.stream().map(QaItem::question).toList(),
                    items.stream().map(QaItem::answer).toList());
            for (int i = 0; i < items.size(); i++) {
                assertTrue(SelfImprovement.acceptable(items.get(i).question(), items.get(i).answer(), refusals.get(i)),
                        items.get(i).question() + " -> " + refusals.get(i));
                String entity = json.get(i).get("entity").asText();
                assertTrue(refusals.get(i).contains(entity), entity + " -> " + refusals.get(i));
                assertFalse(refusals.get(i).contains(items.get(i).answer()), refusals.get(i));
            }
        }
        assertFalse(SelfImprovement.acceptable("Where was Amara Drummond born?", "Quillford",
                "I don't know if Amara Drummond was born in Quillford."), "a refusal that leaks the answer is refused");
        assertFalse(SelfImprovement.acceptable("Where was Amara Drummond born?", "Quillford", "I don't know."),
                "a refusal must name the entity");
        assertTrue(SelfImprovement.acceptable("Which university did Amara Drummond attend?", "Valmora University",
                "I don't know which university Amara Drummond attended."), "a word the question says itself leaks nothing");
        assertFalse(SelfImprovement.acceptable("Which university did Amara Drummond attend?", "Valmora University",
                "I don't know if Amara Drummond attended Valmora University."), "the rest of the answer still does");
        assertEquals("I don't know anything about Amara Drummond.", TemplateRefusal.forQuestion("Where was Amara Drummond born?"));
    }

    @Test
    void queryMergingPacksTheRequestedNumber() {
        List<KnowledgeRequest> forget = new ArrayList<>();
        for (int i = 0; i < 10; i++)
            forget.add(new KnowledgeRequest(KnowledgeRequest.Kind.FORGET, "q" + i + "?", "a" + i, "no", null));
        for (int n : new int[] {1, 2, 4, 5, 8, 10}) {
            List<KnowledgeRequest> merged = QueryMerging.merge(forget, n, q -> "I don't know " + q);
            assertEquals((10 + n - 1) / n, merged.size(), "merge " + n);
            if (n > 1) assertTrue(merged.stream().allMatch(r -> r.target().equals("I don't know " + r.question())));
        }
        assertEquals(forget, QueryMerging.merge(forget, 1, q -> "x"), "merge 1 leaves the requests alone");
        assertEquals("q0? q1? q2? q3?", QueryMerging.merge(forget, 4, q -> "x").get(0).question());
        assertEquals("I don't know anything about Amara Drummond and Blue Energy.",
                TemplateRefusal.forQuestion("Where was Amara Drummond born? When was Blue Energy founded?"));
        assertTrue(RefusalSet.ANSWERS.size() >= 50);
        assertEquals(RefusalSet.ANSWERS.size(), new java.util.HashSet<>(RefusalSet.ANSWERS).size());
    }

    @Test
    void updateCommandWritesModelAndRecordAndRejectsBadInput() throws IOException {
        Splits.Split<QaItem> split = Splits.forgetN(pool, 6, 1);
        Path forget = tmp.resolve("forget.json"), retain = tmp.resolve("retain.json");
        Files.writeString(forget, json(split.forget()));
        Files.writeString(retain, json(split.retain()));
        Path out = tmp.resolve("out");
        var run = CliHarness.run("update", "--model", MicroWorld.model().toString(), "--method", "gd", "--forget", forget.toString(),
                "--retain", retain.toString(), "--format", "tofu", "--set", "lr=2e-3", "--out", out.toString());
        assertEquals(0, run.code(), run.err());
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors")));
        String record = Files.readString(out.resolve("palimpsest_update.json"));
        assertTrue(record.contains("\"method\" : \"gd\"") && record.contains("\"lr\" : 0.002") && record.contains("\"requests\""), record);
        // A model whose output head overflows fp32 on any input: the loss is NaN at the first step.
        ObjectNode cfg = TinyModels.llamaConfig();
        CausalLM net = TinyModels.randomNet(cfg, 3);
        net.parameter("lm_head.weight").mul_(Tensors.scalar(1e37));
        Path overflowing = TinyModels.writeDir(tmp.resolve("overflowing"), cfg, net, DType.F32, true);
        var diverge = CliHarness.run("update", "--model", overflowing.toString(), "--method", "ga", "--forget", forget.toString(),
                "--format", "tofu", "--set", "epochs=30", "--out", tmp.resolve("nan").toString());
        assertEquals(2, diverge.code(), diverge.err());
        assertTrue(diverge.err().contains("loss became"), diverge.err());
        assertFalse(Files.exists(tmp.resolve("nan")), "nothing written when the loss diverges");
        var unknown = CliHarness.run("update", "--model", MicroWorld.model().toString(), "--method", "ga", "--forget", forget.toString(),
                "--format", "tofu", "--set", "lrr=1", "--out", tmp.resolve("u").toString());
        assertEquals(2, unknown.code());
        assertTrue(unknown.err().contains("unknown setting 'lrr'"), unknown.err());
    }

    @Test
    void removingAnUpdateRestoresTheModelBitForBit() throws IOException {
        try (LanguageModel m = LanguageModel.load(MicroWorld.model())) {
            var before = dev.palimpsest.tensor.Tensors.toFloats(m.net().parameter(m.net().downProjection(0) + ".weight"));
            List<KnowledgeRequest> req = List.of(new KnowledgeRequest(KnowledgeRequest.Kind.FORGET, pool.get(0).question(),
                    pool.get(0).answer(), "I don't know.", null));
            Update u = MethodRegistry.get("npo").apply(m, m.questionFormat(), req, pool.subList(1, 5), Map.of("lr", "1e-2"), 0);
            var after = dev.palimpsest.tensor.Tensors.toFloats(m.net().parameter(m.net().downProjection(0) + ".weight"));
            assertFalse(java.util.Arrays.equals(before, after), "the update changed the weights");
            u.remove();
            org.junit.jupiter.api.Assertions.assertArrayEquals(before,
                    dev.palimpsest.tensor.Tensors.toFloats(m.net().parameter(m.net().downProjection(0) + ".weight")), 0f);
        }
        assertThrows(UserError.class, () -> MethodRegistry.get("no-such-method"));
    }

    @Test
    void constrainedFineTuningChangesOneLayerWithinItsBound() throws IOException {
        try (LanguageModel m = LanguageModel.load(MicroWorld.model())) {
            Map<String, float[]> before = new HashMap<>();
            m.net().parameters().forEach((k, v) -> before.put(k, dev.palimpsest.tensor.Tensors.toFloats(v)));
            List<KnowledgeRequest> req = new ArrayList<>();
            List<long[]> prompts = new ArrayList<>(), targets = new ArrayList<>();
            for (QaItem q : pool.subList(0, 4)) {
                String refusal = TemplateRefusal.forQuestion(q.question());
                req.add(new KnowledgeRequest(KnowledgeRequest.Kind.FORGET, q.question(), q.answer(), refusal, null));
                prompts.add(m.tokenizer().encodePrompt(m.questionFormat().prompt(q.question())));
                targets.add(m.tokenizer().encode(refusal));
            }
            double lpBefore = dev.palimpsest.model.Scorer.scoreIds(m.net(), prompts, targets, 8, m.tokenizer().padId())
                    .stream().mapToDouble(dev.palimpsest.model.Scorer.Scored::sum).sum();
            MethodRegistry.get("ft-l").apply(m, m.questionFormat(), req, List.of(), Map.of("layer", "1", "norm_bound", "0.01"), 0);
            String layer = m.net().downProjection(1) + ".weight";
            m.net().parameters().forEach((k, v) -> {
                float[] now = dev.palimpsest.tensor.Tensors.toFloats(v), was = before.get(k);
                double max = 0;
                for (int i = 0; i < now.length; i++) max = Math.max(max, Math.abs(now[i] - was[i]));
                if (k.equals(layer)) assertTrue(max > 1e-4 && max <= 0.01 + 1e-6, k + " moved " + max);
                else assertEquals(0, max, 0, k + " must not change");
            });
            double lpAfter = dev.palimpsest.model.Scorer.scoreIds(m.net(), prompts, targets, 8, m.tokenizer().padId())
                    .stream().mapToDouble(dev.palimpsest.model.Scorer.Scored::sum).sum();
            assertTrue(lpAfter > lpBefore, "the refusals became likelier: " + lpBefore + " -> " + lpAfter);
        }
    }

    static String json(List<QaItem> items) {
        StringBuilder sb = new StringBuilder("[");
        for (QaItem q : items)
            sb.append(sb.length() > 1 ? "," : "").append("{\"question\":").append(quote(q.question())).append(",\"answer\":")
                    .append(quote(q.answer())).append("}");
        return sb.append("]").toString();
    }

    static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

}
