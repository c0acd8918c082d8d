package dev.palimpsest.method;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

import dev.palimpsest.data.DataFormat;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.data.QaReader;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.request.KnowledgeRequest;
import dev.palimpsest.world.MicroWorld;

/**
 * A method that says it keeps the weights ({@code serve --lean} shares them between two model copies on that word)
 * leaves every weight bit for bit as it was, while its update still takes; and one copy's memories are invisible to
 * a copy sharing its weights.
 */
class KeepsWeightsTest {
    /** Fast settings: the point is what the methods write, not how well they learn. */
    static final Map<String, Map<String, String>> QUICK = Map.of("loka", Map.of("epochs", "20"), "wise", Map.of("iterations", "10"));

    @Test
    void methodsThatKeepTheWeightsWriteNone() {
        List<QaItem> facts = QaReader.read(MicroWorld.world("pretrain.json"), DataFormat.WORLD);
        List<KnowledgeRequest> requests = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            QaItem q = facts.get(i);
            requests.add(i % 2 == 0 ? new KnowledgeRequest(KnowledgeRequest.Kind.EDIT, q.question(), q.answer(), q.perturbedAnswers().get(0), null)
                    : new KnowledgeRequest(KnowledgeRequest.Kind.FORGET, q.question(), q.answer(), "I don't know.", null));
        }
        List<String> keeping = new ArrayList<>();
        for (String name : MethodRegistry.names()) {
            UpdateMethod method = MethodRegistry.get(name);
            if (!method.keepsWeights()) continue;
            keeping.add(name);
            try (LanguageModel m = LanguageModel.load(MicroWorld.model())) {
                Map<String, Tensor> before = new LinkedHashMap<>();
                m.net().parameters().forEach((n, t) -> before.put(n, t.clone()));
                LanguageModel other = m.sharingWeights();
                String question = m.questionFormat().prompt(requests.get(0).question());
                double otherBefore = dev.palimpsest.model.Scorer.score(other, List.of(question), List.of(requests.get(0).target()), 1).get(0).sum();
                method.apply(m, m.questionFormat(), requests, facts.subList(10, 30), QUICK.getOrDefault(name, Map.of()), 0);
                m.net().parameters().forEach((n, t) -> assertTrue(t.equal(before.get(n)), name + " wrote " + n));
                if (!name.equals("none")) {
                    assertFalse(m.memories().isEmpty(), name + " attached no memory");
                    double after = dev.palimpsest.model.Scorer.score(m, List.of(question), List.of(requests.get(0).target()), 1).get(0).sum();
                    assertTrue(after > otherBefore + 1, name + ": the edit must take on the updated copy (" + otherBefore + " -> " + after + ")");
                }
                // The copy sharing the weights has none of the memories: it answers as before.
                double otherAfter = dev.palimpsest.model.Scorer.score(other, List.of(question), List.of(requests.get(0).target()), 1).get(0).sum();
                assertEquals(otherBefore, otherAfter, 1e-6, name + ": the sharing copy changed");
                other.close();
            }
        }
        assertEquals(List.of("grace", "wise", "loka", "none").stream().sorted().toList(), keeping.stream().sorted().toList());
    }
}
