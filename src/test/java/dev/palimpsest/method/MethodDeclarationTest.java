package dev.palimpsest.method;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

import dev.palimpsest.cli.CliHarness;
import dev.palimpsest.data.DataFormat;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.data.QaReader;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.request.KnowledgeRequest;
import dev.palimpsest.request.TemplateRefusal;
import dev.palimpsest.tensor.Tensors;
import dev.palimpsest.world.MicroWorld;

/**
 * Settings are declared once (range, default, doc) and everything else is generated from them; methods are
 * plugins of one class and one registration line; the trained baselines are compositions of loss terms.
 */
class MethodDeclarationTest {
    /** A toy method: scales the final norm's weight by {@code scale}. One class; registering it is one line. */
    static final class Scale implements UpdateMethod {
        @Override
        public String name() {
            return "toy-scale";
        }

        @Override
        public String description() {
            return "scales the final norm";
        }

        @Override
        public List<Setting> settings() {
            return List.of(Setting.positive("scale").is(2.0, "the factor"),
                    Setting.atLeast("layer", 0).rule("the last layer", "unused, read to show a computed default"));
        }

        @Override
        public Undo update(UpdateRun run) {
            Settings s = run.settings();
            double scale = s.real("scale");
            s.integer("layer", run.model().net().numLayers() - 1);
            String name = run.model().net().parameters().keySet().stream().filter(n -> n.contains("norm")).reduce((a, b) -> b).orElseThrow();
            WeightDelta undo = WeightDelta.before(run.model().net(), List.of(name));
            try (NoGradGuard g = new NoGradGuard()) {
                Tensor w = run.model().net().parameter(name);
                w.mul_(Tensors.scalar(scale));
            }
            return undo;
        }
    }

    @Test
    void everySettingOfEveryMethodHasItsDefaultRangeAndDocDeclaredOnce() {
        for (String name : MethodRegistry.names()) {
            UpdateMethod m = MethodRegistry.get(name);
            assertFalse(m.description().isBlank(), name);
            assertFalse(m.description().matches(".*\\w=\\d.*"), name + "'s description repeats a default: " + m.description());
            for (Setting s : m.settings()) {
                assertNotNull(s.doc(), name + "." + s.name() + " has no doc");
                assertNotNull(s.defaultText(), name + "." + s.name() + " has no default");
                if (!s.ruled()) // a constant default passes its own range check
                    assertEquals(s.constant(), s.parse(name, String.valueOf(s.constant())), name + "." + s.name());
            }
        }
    }

    @Test
    void aDefaultIsReadFromOnePlace() {
        Settings s = new Settings("m", List.of(Setting.positive("a").is(1.0, "doc"), Setting.positive("b").rule("twice a", "doc")), Map.of("b", "3"));
        assertEquals(1.0, s.real("a"));
        assertEquals(3.0, s.real("b", 2.0), "a given value wins over the rule");
        assertThrows(IllegalStateException.class, () -> s.real("a", 5.0), "a constant default written again in code");
        assertThrows(IllegalStateException.class, () -> s.real("b"), "a rule read without its value");
        assertEquals(Map.of("a", 1.0, "b", 3.0), s.resolved());
    }

    @Test
    void readmesMethodTableIsTheGeneratedOne() throws IOException {
        var run = CliHarness.run("methods", "--markdown");
        assertEquals(0, run.code(), run.err());
        String readme = Files.readString(Path.of("README.md"));
        assertTrue(readme.contains(run.out()), "README's methods table differs from `palimpsest methods --markdown`; paste its output");
    }

    @Test
    void aToyMethodIsOneClassAndOneRegistrationLine() throws IOException {
        try (var registered = MethodRegistry.register(Scale::new); LanguageModel m = LanguageModel.load(MicroWorld.model())) {
            var listed = CliHarness.run("methods");
            assertTrue(listed.out().contains("toy-scale") && listed.out().contains("default the last layer"), listed.out());
            Map<String, float[]> before = weights(m);
            Update u = MethodRegistry.get("toy-scale").apply(m, m.questionFormat(), List.of(), List.of(), Map.of("scale", "3"), 0);
            assertEquals("toy-scale", u.method());
            assertEquals(Map.of("scale", 3.0, "layer", m.net().numLayers() - 1), u.settings(), "the run records given and default settings");
            assertTrue(u.seconds() >= 0);
            assertFalse(sameWeights(before, weights(m)));
            u.remove();
            assertTrue(sameWeights(before, weights(m)));
        }
    }

    @Test
    void theBaselinesAreCompositionsOfLossTerms() throws IOException {
        List<QaItem> pool = QaReader.read(MicroWorld.world("pretrain.json"), DataFormat.WORLD);
        List<KnowledgeRequest> forget = pool.subList(0, 4).stream().map(q -> new KnowledgeRequest(KnowledgeRequest.Kind.FORGET, q.question(),
                q.answer(), TemplateRefusal.forQuestion(q.question()), null)).toList();
        List<QaItem> retain = pool.subList(4, 10);
        // kl is gd with the KL retention term; ga is gd without a retain term.
        assertTrue(sameWeights(trained("kl", Map.of(), forget, retain), trained("gd", Map.of("retain", "kl"), forget, retain)));
        assertTrue(sameWeights(trained("ga", Map.of(), forget, retain), trained("gd", Map.of("retain_weight", "0"), forget, retain)));
        // joint with only forget requests and NPO is npo without its retain term.
        assertTrue(sameWeights(trained("npo", Map.of("retain", "none", "batch", "4"), forget, retain),
                trained("joint", Map.of(), forget, retain)));
        assertFalse(sameWeights(trained("gd", Map.of(), forget, retain), trained("ga", Map.of(), forget, retain)), "the retain term counts");
    }

    private static Map<String, float[]> trained(String method, Map<String, String> given, List<KnowledgeRequest> forget, List<QaItem> retain)
            throws IOException {
        Map<String, String> settings = new LinkedHashMap<>(given);
        settings.put("epochs", "2");
        settings.put("lr", "2e-3");
        try (LanguageModel m = LanguageModel.load(MicroWorld.model())) {
            MethodRegistry.get(method).apply(m, m.questionFormat(), forget, retain, settings, 7);
            return weights(m);
        }
    }

    private static Map<String, float[]> weights(LanguageModel m) {
        Map<String, float[]> out = new LinkedHashMap<>();
        m.net().parameters().forEach((k, v) -> out.put(k, Tensors.toFloats(v)));
        return out;
    }

    private static boolean sameWeights(Map<String, float[]> a, Map<String, float[]> b) {
        if (!a.keySet().equals(b.keySet())) return false;
        for (String k : a.keySet()) {
            try {
                assertArrayEquals(a.get(k), b.get(k), 0f);
            } catch (AssertionError e) {
                return false;
            }
        }
        return true;
    }
}
