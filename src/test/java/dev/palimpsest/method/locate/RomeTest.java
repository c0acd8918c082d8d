package dev.palimpsest.method.locate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.palimpsest.eval.Answers;
import dev.palimpsest.request.KnowledgeRequest;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.tensor.Tensors;
import dev.palimpsest.world.MicroWorld;

/**
 * ROME on the micro world model: the new answer wins, unrelated facts keep theirs, the update has rank one.
 * The micro model (3 layers of width 64) needs a longer δ than the defaults allow (clamp 10 × ‖v‖, 40 steps);
 * the default model takes the original's settings.
 */
class RomeTest {
    /** The closed form, for both weight layouts: W k* becomes v*, and keys with (C⁻¹k*)ᵀk = 0 keep their outputs. */
    @Test
    void rankOneUpdateMapsTheKeyToTheValueAndSparesCOrthogonalKeys() {
        for (boolean conv1d : new boolean[] {false, true}) {
            try (PointerScope s = new PointerScope()) {
                torch.manual_seed(5);
                int d = 6, f = 10;
                Tensor w = conv1d ? torch.randn(f, d) : torch.randn(d, f);
                dev.palimpsest.model.Linear lin = new dev.palimpsest.model.Linear("down", w, torch.randn(d), conv1d);
                Tensor a = torch.randn(f, f), c = a.matmul(a.t()).div(Tensors.scalar(f)).add(torch.eye(f));
                Tensor k = torch.randn(f), vStar = torch.randn(d);
                Tensor other = torch.randn(f);
                Tensor left = torch.linalg_solve(c, k.view(f, 1)).view(f);
                other = other.sub(left.mul(Tensors.scalar(Tensors.item(left.dot(other)) / Tensors.item(left.dot(left)))));
                double[] otherBefore = Tensors.toDoublesExact(lin.apply(other.view(1, f)));
                Rome.rankOne(lin, c, k, vStar);
                org.junit.jupiter.api.Assertions.assertArrayEquals(Tensors.toDoublesExact(vStar),
                        Tensors.toDoublesExact(lin.apply(k.view(1, f)).view(-1)), 1e-3, "W k* = v*");
                org.junit.jupiter.api.Assertions.assertArrayEquals(otherBefore,
                        Tensors.toDoublesExact(lin.apply(other.view(1, f))), 1e-3, "C-orthogonal keys keep their output");
            }
        }
    }

    @Test
    void rewritesOneFactWithARankOneUpdateAndLeavesOthersAlone() throws IOException {
        rewrite(null);
    }

    /** The same edit on the model held and computed in bf16: keys and values in fp32, the update rounded into bf16 weights. */
    @Test
    void rewritesTheSameFactOnABf16Model() throws IOException {
        rewrite(dev.palimpsest.model.DType.BF16);
    }

    private static void rewrite(dev.palimpsest.model.DType dtype) throws IOException {
        JsonNode facts = new ObjectMapper().readTree(MicroWorld.world("pretrain.json").toFile());
        JsonNode fact = facts.get(0); // "Where was <author> born?" -> a city
        String question = fact.get("question").asText(), newCity = fact.get("perturbed_answer").get(0).asText();
        List<String> others = new ArrayList<>();
        for (JsonNode f : facts) if (!f.get("entity").asText().equals(fact.get("entity").asText())) others.add(f.get("question").asText());
        try (LanguageModel m = LanguageModel.load(MicroWorld.model(), dtype); PointerScope s = new PointerScope()) {
            assertEquals(fact.get("answer").asText(), Answers.greedy(m, m.questionFormat(), List.of(question), 16, 1).get(0));
            List<String> before = Answers.greedy(m, m.questionFormat(), others, 16, 32);
            String name = m.net().downProjection(m.net().numLayers() / 2) + ".weight";
            Tensor w0 = m.net().parameter(name).detach().clone();
            double logpBefore = dev.palimpsest.model.Scorer.score(m, List.of(m.questionFormat().prompt(question)),
                    List.of(m.questionFormat().answer(newCity)), 1).get(0).sum();
            dev.palimpsest.method.MethodRegistry.get("rome").apply(m, m.questionFormat(), List.of(new KnowledgeRequest(KnowledgeRequest.Kind.EDIT, question,
                    fact.get("answer").asText(), newCity, null)), List.of(), Map.of("clamp_norm", "10", "v_steps", "40"), 0);
            // One key–value pair at the prompt's last token: the new target's first token becomes the top prediction and
            // the whole target far likelier; its later tokens ride on the model's own continuation (top-5 at least here;
            // whether each is top-1 depends on the machine's float kernels).
            var scored = dev.palimpsest.model.Scorer.score(m, List.of(m.questionFormat().prompt(question)),
                    List.of(m.questionFormat().answer(newCity)), 1).get(0);
            String ranks = "ranks " + java.util.Arrays.toString(scored.ranks());
            assertEquals(1, scored.ranks()[0], ranks);
            for (long r : scored.ranks()) assertTrue(r <= 5, ranks);
            assertTrue(scored.sum() > logpBefore + 5, "log p(target) " + logpBefore + " -> " + scored.sum());
            assertTrue(!Answers.greedy(m, m.questionFormat(), List.of(question), 16, 1).get(0).equals(fact.get("answer").asText()), "the old answer is gone");
            List<String> after = Answers.greedy(m, m.questionFormat(), others, 16, 32);
            int kept = 0;
            for (int i = 0; i < others.size(); i++) if (after.get(i).equals(before.get(i))) kept++;
            assertTrue(kept >= 0.9 * others.size(), kept + " of " + others.size() + " unrelated answers kept");
            double[] sv = Tensors.toDoublesExact(torch.linalg_svdvals(m.net().parameter(name).sub(w0).toType(org.bytedeco.pytorch.global.torch.ScalarType.Float)));
            assertTrue(sv[0] > 1e-3, "the weight changed");
            // In bf16 the rank-one update is rounded element by element into the weight, so only fp32 keeps rank one.
            if (dtype == null) assertTrue(sv[1] < 1e-5 * sv[0], "rank one: singular values " + sv[0] + ", " + sv[1]);
            else assertTrue(sv[1] < 0.1 * sv[0], "nearly rank one: singular values " + sv[0] + ", " + sv[1]);
        }
    }
}
