package dev.palimpsest.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.UserError;
import dev.palimpsest.tensor.Tensors;

class ModelConfigTest {
    @Test
    void familiesAndTheirDefaults() {
        ModelConfig qwen = TinyModels.parse(TinyModels.qwen2Config());
        assertTrue(qwen.qkvBias());
        assertFalse(qwen.outputBias(), "Qwen2 has no o_proj bias");
        assertEquals(1e6, qwen.ropeTheta());
        ModelConfig llama = TinyModels.parse(TinyModels.llamaConfig());
        assertEquals(2, llama.numKvHeads());
        assertEquals(4, llama.headDim());
        assertFalse(llama.qkvBias());
        ModelConfig gpt2 = TinyModels.parse(TinyModels.gpt2Config());
        assertEquals(Family.GPT2, gpt2.family());
        assertTrue(gpt2.tieEmbeddings());
        assertEquals(64, gpt2.intermediateSize());
        ObjectNode multiEos = TinyModels.llamaConfig();
        multiEos.putArray("eos_token_id").add(2).add(7);
        assertEquals(List.of(2, 7), TinyModels.parse(multiEos).eosTokenIds());
    }

    @Test
    void badFieldsAreNamed() {
        ObjectNode c = TinyModels.llamaConfig();
        c.put("num_key_value_heads", 3);
        UserError e = assertThrows(UserError.class, () -> TinyModels.parse(c));
        assertTrue(e.getMessage().contains("'num_key_value_heads'"), e.getMessage());
        ObjectNode r = TinyModels.llamaConfig();
        r.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 4.0);
        e = assertThrows(UserError.class, () -> TinyModels.parse(r));
        assertTrue(e.getMessage().contains("rope_scaling") && e.getMessage().contains("yarn"), e.getMessage());
        ObjectNode a = TinyModels.llamaConfig();
        a.put("hidden_act", "gelu");
        assertThrows(UserError.class, () -> TinyModels.parse(a));
    }

    /** Llama 3's frequency scaling, worked through for one low-, one mid- and one high-frequency pair. */
    @Test
    void llama3RopeScalingMatchesTheFormula() {
        ObjectNode c = TinyModels.llamaConfig();
        c.put("hidden_size", 64);
        c.put("num_attention_heads", 1);
        c.put("num_key_value_heads", 1);
        c.put("rope_theta", 500000.0);
        c.putObject("rope_scaling").put("rope_type", "llama3").put("factor", 8.0).put("low_freq_factor", 1.0)
                .put("high_freq_factor", 4.0).put("original_max_position_embeddings", 64);
        ModelConfig cfg = TinyModels.parse(c);
        Rope rope = new Rope(cfg);
        try (PointerScope s = new PointerScope()) {
            // At position 1 the angle is the inverse frequency itself: recover it from cos and sin.
            var cs = rope.cosSin(Tensors.longs(new long[] {1}, 1, 1), org.bytedeco.pytorch.global.torch.ScalarType.Double);
            double[] cos = Tensors.toDoublesExact(cs[0]), sin = Tensors.toDoublesExact(cs[1]);
            for (int i = 0; i < 32; i++) {
                double base = Math.pow(500000.0, -(double) (float) (2.0 * i / 64));
                double wavelen = 2 * Math.PI / base;
                double expected;
                if (wavelen < 64 / 4.0) expected = base; // high frequency: unchanged
                else if (wavelen > 64 / 1.0) expected = base / 8; // low frequency: divided by the factor
                else {
                    double smooth = (64 / wavelen - 1) / (4 - 1);
                    expected = (1 - smooth) * base / 8 + smooth * base;
                }
                assertEquals(expected, Math.atan2(sin[i], cos[i]), 1e-12, "pair " + i);
            }
        }
    }
}
