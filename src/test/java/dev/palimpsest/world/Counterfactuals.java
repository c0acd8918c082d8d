package dev.palimpsest.world;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.palimpsest.data.EditItem;
import dev.palimpsest.request.KnowledgeRequest;

/** Edit requests for the tests: the micro world's facts with counterfactual answers. */
public final class Counterfactuals {
    private Counterfactuals() {}

    /** The micro world's facts with another entity's answer (the first perturbed answer) as the new target. */
    public static List<EditItem> micro(int n) throws IOException {
        JsonNode facts = new ObjectMapper().readTree(MicroWorld.world("pretrain.json").toFile());
        List<EditItem> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            JsonNode f = facts.get(i), other = facts.get(facts.size() - 1 - i);
            out.add(new EditItem(String.valueOf(i), f.get("question").asText(), null, f.get("perturbed_answer").get(0).asText(),
                    f.get("answer").asText(), List.of(f.get("paraphrased_question").asText()), List.of(other.get("question").asText()),
                    List.of(other.get("answer").asText())));
        }
        return out;
    }

    public static List<KnowledgeRequest> requests(List<EditItem> items) {
        return items.stream().map(e -> new KnowledgeRequest(KnowledgeRequest.Kind.EDIT, e.prompt(), e.groundTruth(), e.target(), null)).toList();
    }
}
