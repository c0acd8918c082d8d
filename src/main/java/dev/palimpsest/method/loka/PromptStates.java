package dev.palimpsest.method.loka;

import java.util.ArrayList;
import java.util.List;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.ForwardInput;
import dev.palimpsest.model.PaddedBatch;
import dev.palimpsest.model.Site;
import dev.palimpsest.model.SiteHooks;
import dev.palimpsest.tensor.Tensors;

/**
 * What LOKA's router and its knowledge mapping read about a prompt: the base model's residual stream after each
 * router layer, per real token, concatenated over the layers ([tokens][width · layers]), optionally preceded by the
 * input embeddings (the residual stream entering layer 0) of the token and the one before it ({@link #keys}). The
 * request embedding that clustering and the centroids use is the mean over the tokens of the last router layer's part.
 */
public final class PromptStates {
    private PromptStates() {}

    /** The states of each prompt (token ids), computed in padded batches. */
    public static List<float[][]> of(CausalLM net, int[] layers, List<long[]> prompts, long pad) {
        return of(net, layers, prompts, pad, 0);
    }

    /** As {@link #of(CausalLM, int[], List, long)}, preceded by the input embeddings of {@code embedded} tokens (0, 1 or 2; see {@link #keys}). */
    public static List<float[][]> of(CausalLM net, int[] layers, List<long[]> prompts, long pad, int embedded) {
        List<float[][]> out = new ArrayList<>();
        for (int from = 0; from < prompts.size(); from += 32) {
            List<long[]> chunk = prompts.subList(from, Math.min(prompts.size(), from + 32));
            try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
                PaddedBatch batch = PaddedBatch.right(chunk, pad);
                List<List<Tensor>> rec = new ArrayList<>();
                List<SiteHooks.Handle> handles = new ArrayList<>();
                try {
                    if (embedded > 0) {
                        List<Tensor> sink = new ArrayList<>();
                        rec.add(sink);
                        handles.add(net.sites().record(0, Site.RESID_PRE, sink));
                    }
                    for (int l : layers) {
                        List<Tensor> sink = new ArrayList<>();
                        rec.add(sink);
                        handles.add(net.sites().record(l, Site.RESID_POST, sink));
                    }
                    net.hidden(new ForwardInput(batch.ids(), null, batch.keyMask()), null);
                } finally {
                    handles.forEach(SiteHooks.Handle::close);
                }
                List<Tensor> parts = rec.stream().map(r -> r.get(0)).toList();
                if (embedded > 0) parts = List.of(keys(parts.get(0), null, embedded, Tensors.cat(2, parts.subList(1, parts.size()))));
                Tensor all = Tensors.cat(2, parts); // [B, T, w·L] (and the embeddings first)
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

    /**
     * The router's key states [B, T, ..]: the input embeddings of the token before ({@code embedded} = 2) and of the
     * token itself, then {@code states}. {@code before} [B, width] is the embedding of the token before the first (the
     * previous KV-cache pass's last), or null at the start of a sequence (zeros).
     */
    static Tensor keys(Tensor embeddings, Tensor before, int embedded, Tensor states) {
        Tensor e = embeddings.toType(ScalarType.Float), x = states.toType(ScalarType.Float);
        if (embedded == 0) return x;
        if (embedded == 1) return Tensors.cat(2, List.of(e, x));
        long t = e.size(1);
        Tensor first = before != null ? before.toType(ScalarType.Float).unsqueeze(1) : torch.zeros_like(Tensors.slice(e, 1, 0, 1));
        Tensor previous = t > 1 ? Tensors.cat(1, List.of(first, Tensors.slice(e, 1, 0, t - 1))) : first;
        return Tensors.cat(2, List.of(previous, e, x));
    }

    /** The mean over tokens of the last {@code width} columns (the last router layer): the request embedding. */
    public static double[] embedding(float[][] states, int width) {
        int w = states[0].length;
        double[] e = new double[width];
        for (float[] row : states) for (int j = 0; j < width; j++) e[j] += row[w - width + j] / states.length;
        return e;
    }
}
