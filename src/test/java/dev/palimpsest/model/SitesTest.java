package dev.palimpsest.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.palimpsest.tensor.Tensors;

class SitesTest {
    static CausalLM net(String family) {
        return TinyModels.randomNet(family.equals("gpt2") ? TinyModels.gpt2Config() : TinyModels.llamaConfig(), 21);
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "gpt2"})
    void recordedKeysThroughTheDownProjectionGiveTheRecordedValues(String family) {
        CausalLM net = net(family);
        long[] ids = TinyModels.ids("the capital of france is paris");
        try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            List<Tensor> keys = new ArrayList<>(), values = new ArrayList<>(), pre = new ArrayList<>(),
                    post = new ArrayList<>(), attn = new ArrayList<>();
            var hk = net.sites().record(1, Site.MLP_KEY, keys);
            var hv = net.sites().record(1, Site.MLP_OUT, values);
            var hp = net.sites().record(1, Site.RESID_PRE, pre);
            var hq = net.sites().record(1, Site.RESID_POST, post);
            var ha = net.sites().record(1, Site.ATTN_OUT, attn);
            net.forward(Tensors.longs(ids, 1, ids.length));
            for (var h : List.of(hk, hv, hp, hq, ha)) h.close();
            assertTrue(net.sites().isEmpty());
            Linear down = net.linear(net.downProjection(1));
            assertArrayEquals(Tensors.toFloats(values.get(0)), Tensors.toFloats(down.apply(keys.get(0))), 1e-5f);
            // The residual identity of a layer: post = pre + attention + mlp.
            Tensor sum = pre.get(0).add(attn.get(0)).add(values.get(0));
            assertArrayEquals(Tensors.toFloats(post.get(0)), Tensors.toFloats(sum), 1e-5f);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "gpt2"})
    void replacingAtOnePositionChangesOnlyThatPositionAndLater(String family) {
        CausalLM net = net(family);
        long[] ids = TinyModels.ids("the capital of france is paris");
        try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            Tensor base = net.forward(Tensors.longs(ids, 1, ids.length));
            Tensor values = torch.randn(new long[] {1, 16}, Tensors.options(org.bytedeco.pytorch.global.torch.ScalarType.Float));
            Tensor edited;
            try (var h = net.sites().add(0, Site.MLP_OUT, SiteHook.replaceAt(new long[] {0}, new long[] {3}, values))) {
                edited = net.forward(Tensors.longs(ids, 1, ids.length));
            }
            int v = net.config().vocabSize();
            float[] a = Tensors.toFloats(base), b = Tensors.toFloats(edited);
            for (int t = 0; t < ids.length; t++) {
                double diff = 0;
                for (int k = 0; k < v; k++) diff = Math.max(diff, Math.abs(a[t * v + k] - b[t * v + k]));
                if (t < 3) assertEquals(0, diff, 0, "position " + t + " precedes the replacement");
                else assertTrue(diff > 1e-3, "position " + t + " should change");
            }
            float[] after = Tensors.toFloats(net.forward(Tensors.longs(ids, 1, ids.length)));
            assertArrayEquals(a, after, 0f, "a closed hook leaves no trace");
        }
    }
}
