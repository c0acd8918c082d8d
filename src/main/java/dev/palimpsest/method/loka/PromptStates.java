package dev.palimpsest.method.loka;

import java.util.ArrayList;
import java.util.List;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.ForwardInput;
import dev.palimpsest.model.PaddedBatch;
import dev.palimpsest.model.Site;
import dev.palimpsest.model.SiteHooks;
import dev.palimpsest.tensor.Tensors;

/**
 * What LOKA's router and its knowledge mapping read about a prompt: the base model's residual stream after each
 * router layer, per real token, concatenated over the layers ([tokens][width · layers]). The request embedding
 * that clustering and the centroids use is the mean over the tokens of the last router layer's part.
 */
public final class PromptStates {
    private PromptStates() {}

    /** The states of each prompt (token ids), computed in padded batches. */
    public static List<float[][]> of(CausalLM net, int[] layers, List<long[]> prompts, long pad) {
        List<float[][]> out = new ArrayList<>();
        for (int from = 0; from < prompts.size(); from += 32) {
            List<long[]> chunk = prompts.subList(from, Math.min(prompts.size(), from + 32));
            try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
                PaddedBatch batch = PaddedBatch.right(chunk, pad);
                List<List<Tensor>> rec = new ArrayList<>();
                List<SiteHooks.Handle> handles = new ArrayList<>();
                try {
                    for (int l : layers) {
                        List<Tensor> sink = new ArrayList<>();
                        rec.add(sink);
                        handles.add(net.sites().record(l, Site.RESID_POST, sink));
                    }
                    net.hidden(new ForwardInput(batch.ids(), null, batch.keyMask()), null);
                } finally {
                    handles.forEach(SiteHooks.Handle::close);
                }
                Tensor all = Tensors.cat(2, rec.stream().map(r -> r.get(0)).toList()); // [B, T, w·L]
                int w = (int) all.size(2);
                for (int i = 0; i < chunk.size(); i++) {
                    int n = chunk.get(i).length;
                    float[] f = Tensors.toFloats(Tensors.slice(all.select(0, i), 0, 0, n));
                    float[][] rows = new float[n][w];
                    for (int t = 0; t < n; t++) System.arraycopy(f, t * w, rows[t], 0, w);
                    out.add(rows);
                }
            }
        }
        return out;
    }

    /** The mean over tokens of the last {@code width} columns (the last router layer): the request embedding. */
    public static double[] embedding(float[][] states, int width) {
        int w = states[0].length;
        double[] e = new double[width];
        for (float[] row : states) for (int j = 0; j < width; j++) e[j] += row[w - width + j] / states.length;
        return e;
    }
}
