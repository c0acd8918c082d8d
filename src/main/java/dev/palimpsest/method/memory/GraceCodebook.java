package dev.palimpsest.method.memory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import dev.palimpsest.UserError;
import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.DType;
import dev.palimpsest.model.Memory;
import dev.palimpsest.model.MemoryReader;
import dev.palimpsest.model.SafeTensorsFile;
import dev.palimpsest.model.SafeTensorsWriter;
import dev.palimpsest.model.Site;
import dev.palimpsest.model.SiteHooks;
import dev.palimpsest.tensor.Tensors;

/**
 * GRACE's discrete key–value adaptor on one layer's MLP (Hartvigsen et al. 2023). Every token position's
 * MLP key (the down-projection's input) is compared with the codebook's keys by Euclidean distance; a
 * position whose nearest key lies within that entry's deferral radius ε gets the entry's value as its MLP
 * output, every other position keeps the layer's own. With no position in reach, the activation passes
 * through untouched, so unrelated inputs compute bit for bit as without the codebook.
 * <p>Each entry also keeps the token it was trained to produce (its label), which GRACE's expansion rules
 * compare. Values may require gradients while they are trained.
 */
public final class GraceCodebook implements Memory {
    public static final String FILE = "palimpsest_grace.safetensors";

    private final CausalLM net;
    private final int layer;
    private final List<Tensor> keys = new ArrayList<>(), values = new ArrayList<>();
    private final List<Double> radii = new ArrayList<>();
    private final List<Long> labels = new ArrayList<>();
    private final SiteHooks.Handle keyHook, outHook;
    private Tensor lastKeys;

    public GraceCodebook(CausalLM net, int layer) {
        this.net = net;
        this.layer = layer;
        keyHook = net.sites().add(layer, Site.MLP_KEY, k -> {
            lastKeys = k;
            return k;
        });
        outHook = net.sites().add(layer, Site.MLP_OUT, this::replace);
    }

    private Tensor replace(Tensor out) {
        if (keys.isEmpty() || lastKeys == null) return out;
        Tensor q = lastKeys.flatten(0, 1).detach().toType(ScalarType.Float);
        Tensor dist = torch.cdist(q, Tensors.stack(keys));
        T_TensorTensor_T nearest = dist.min(1, false);
        Tensor best = nearest.get0(), which = nearest.get1();
        Tensor eps = Tensors.floats(toFloats(radii), radii.size()).index_select(0, which);
        Tensor hit = best.le(eps);
        lastKeys = null;
        if (Tensors.item(hit.any()) == 0) return out;
        Tensor flat = out.flatten(0, 1);
        Tensor chosen = Tensors.stack(values).index_select(0, which).toType(Tensors.dtype(out));
        return torch.where(hit.unsqueeze(1), chosen, flat).view(out.sizes());
    }

    private static float[] toFloats(List<Double> xs) {
        float[] f = new float[xs.size()];
        for (int i = 0; i < f.length; i++) f[i] = xs.get(i).floatValue();
        return f;
    }

    public int layer() {
        return layer;
    }

    public int size() {
        return keys.size();
    }

    /** Adds an entry and returns its index. The tensors are kept (and owned) by the codebook. */
    public int add(Tensor key, Tensor value, double radius, long label) {
        Tensor k = key.detach().toType(ScalarType.Float).clone(), v = value.detach().toType(ScalarType.Float).clone();
        k.retainReference();
        v.retainReference();
        keys.add(k);
        values.add(v);
        radii.add(radius);
        labels.add(label);
        return keys.size() - 1;
    }

    /** The nearest entry to a key and its distance, or null when the codebook is empty. */
    public Nearest nearest(Tensor key) {
        if (keys.isEmpty()) return null;
        try (NoGradGuard g = new NoGradGuard()) {
            Tensor d = torch.cdist(key.detach().toType(ScalarType.Float).view(1, -1), Tensors.stack(keys)).view(-1);
            int i = (int) Tensors.toLongs(d.argmin())[0];
            return new Nearest(i, Tensors.item(d.select(0, i)));
        }
    }

    public record Nearest(int index, double distance) {}

    public Tensor key(int i) {
        return keys.get(i);
    }

    public Tensor value(int i) {
        return values.get(i);
    }

    public double radius(int i) {
        return radii.get(i);
    }

    public void setRadius(int i, double r) {
        radii.set(i, r);
    }

    public long label(int i) {
        return labels.get(i);
    }

    @Override
    public String file() {
        return FILE;
    }

    @Override
    public void write(Path file) throws IOException {
        Map<String, Tensor> t = new LinkedHashMap<>();
        if (!keys.isEmpty()) {
            t.put("keys", Tensors.stack(keys).detach());
            t.put("values", Tensors.stack(values).detach());
            t.put("radii", Tensors.floats(toFloats(radii), radii.size()));
        }
        StringBuilder lab = new StringBuilder();
        for (long l : labels) lab.append(lab.length() > 0 ? "," : "").append(l);
        SafeTensorsWriter.write(file, t, DType.F32, Map.of("layer", String.valueOf(layer), "labels", lab.toString(), "format", "pt"));
    }

    /** Reads the memory from its file, opened by the caller (who closes it). */
    public static GraceCodebook read(CausalLM net, SafeTensorsFile f) {
        Path file = f.path();
        String layerText = f.metadata().get("layer"), labelText = f.metadata().getOrDefault("labels", "");
        int layer;
        try {
            layer = Integer.parseInt(layerText);
        } catch (NumberFormatException | NullPointerException e) {
            throw new UserError(file + ": missing or bad 'layer' in the metadata");
        }
        if (layer < 0 || layer >= net.numLayers()) throw new UserError(file + ": layer " + layer + " is not in the model");
        GraceCodebook c = new GraceCodebook(net, layer);
        if (!f.entries().containsKey("keys")) return c;
        Tensor k = f.load("keys", ScalarType.Float), v = f.load("values", ScalarType.Float);
        float[] r = Tensors.toFloats(f.load("radii", ScalarType.Float));
        String[] labels = labelText.split(",");
        if (labels.length != r.length || k.size(0) != r.length || v.size(0) != r.length)
            throw new UserError(file + ": keys, values, radii and labels disagree in number");
        for (int i = 0; i < r.length; i++) c.add(k.select(0, i), v.select(0, i), r[i], Long.parseLong(labels[i].strip()));
        return c;
    }

    @Override
    public void detach() {
        keyHook.close();
        outHook.close();
        keys.forEach(Tensor::releaseReference);
        values.forEach(Tensor::releaseReference);
        keys.clear();
        values.clear();
    }

    /** Restores this memory when a model directory holding its file loads (found by {@link MemoryReader#all}). */
    public static final class Reader extends MemoryReader.Of {
        public Reader() {
            super(FILE, GraceCodebook::read);
        }
    }
}
