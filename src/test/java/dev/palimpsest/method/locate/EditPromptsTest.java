package dev.palimpsest.method.locate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.palimpsest.method.ContextPrefixes;
import dev.palimpsest.request.KnowledgeRequest;
import dev.palimpsest.model.DType;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.Site;
import dev.palimpsest.tensor.Tensors;
import dev.palimpsest.world.MicroWorld;

class EditPromptsTest {
    /**
     * MEMIT's per-token edits optimised together (the context in a frozen KV cache, one batch per Adam step) give each
     * edit the δ its own optimisation gives, early stops and clamps included: in fp64 they agree to rounding.
     */
    @Test
    void optimisingManyDeltasAtOnceGivesEachEditsOwnDelta() throws IOException {
        JsonNode facts = new ObjectMapper().readTree(MicroWorld.world("pretrain.json").toFile());
        try (LanguageModel m = LanguageModel.load(MicroWorld.model(), DType.F64); PointerScope s = new PointerScope()) {
            List<String> prefixes = ContextPrefixes.of(m);
            List<EditPrompts> edits = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                JsonNode f = facts.get(i);
                edits.addAll(EditPrompts.of("memit", m, m.questionFormat(), new KnowledgeRequest(KnowledgeRequest.Kind.EDIT,
                        f.get("question").asText(), f.get("answer").asText(), f.get("perturbed_answer").get(0).asText(), null),
                        prefixes, false, true));
            }
            assertTrue(edits.size() >= 6, edits.size() + " edits");
            int layer = 1;
            // Few steps and a tight clamp, so that some edits stop early and some are clamped.
            var vs = new EditPrompts.ValueSettings(12, 1.0, 0.5, 0.0625, 0.75);
            List<Tensor> together = EditPrompts.optimiseDeltas(edits, layer, Site.RESID_POST, vs);
            assertEquals(edits.size(), together.size());
            int moved = 0;
            for (int i = 0; i < edits.size(); i++) {
                double[] alone = Tensors.toDoublesExact(edits.get(i).optimiseDelta(layer, Site.RESID_POST, vs).toType(org.bytedeco.pytorch.global.torch.ScalarType.Double));
                double[] batched = Tensors.toDoublesExact(together.get(i).toType(org.bytedeco.pytorch.global.torch.ScalarType.Double));
                assertArrayEquals(alone, batched, 1e-4, "edit " + i);
                if (Tensors.item(together.get(i).norm()) > 1e-3) moved++;
            }
            assertTrue(moved >= edits.size() / 2, moved + " of " + edits.size() + " deltas moved");
        }
    }
}
