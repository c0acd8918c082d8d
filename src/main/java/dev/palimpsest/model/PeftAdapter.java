package dev.palimpsest.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.UserError;
import dev.palimpsest.tensor.Tensors;

/**
 * LoRA adapters in the folder layout of Hugging Face PEFT ({@code adapter_config.json} +
 * {@code adapter_model.safetensors}, tensors named {@code base_model.model.<module>.lora_A.weight} [r, in]
 * and {@code ...lora_B.weight} [out, r]), which PEFT's {@code PeftModel.from_pretrained} loads onto the
 * base model: y = W x + (alpha / r) · B A x. Written from the adapters attached to a network; read back
 * onto a network's linear layers.
 */
public final class PeftAdapter {
    public static final String CONFIG = "adapter_config.json", WEIGHTS = "adapter_model.safetensors";
    private static final String PREFIX = "base_model.model.";

    private PeftAdapter() {}

    /** Whether the network has LoRA adapters attached (and not merged). */
    public static boolean attached(CausalLM net) {
        return net.linears().values().stream().anyMatch(l -> l.adapter() != null);
    }

    /**
     * Writes every attached adapter into {@code dir} (which must exist), fp32. All adapters must share one rank
     * and one alpha (what palimpsest's LoRA settings make); {@code baseModel} is recorded as PEFT records it.
     */
    public static void write(Path dir, CausalLM net, String baseModel) throws IOException {
        Map<String, LoraAdapter> attached = new LinkedHashMap<>();
        for (Linear l : net.linears().values()) if (l.adapter() != null) attached.put(l.name(), l.adapter());
        write(dir, attached, net.config().family() == Family.GPT2, baseModel);
    }

    /** Writes adapters given by the module (linear layer) they act on; {@code fanInFanOut} for GPT-2's Conv1D layers. */
    public static void write(Path dir, Map<String, LoraAdapter> byModule, boolean fanInFanOut, String baseModel) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        List<String> targets = new ArrayList<>();
        Integer rank = null;
        Double scale = null;
        for (Map.Entry<String, LoraAdapter> e : byModule.entrySet()) {
            LoraAdapter a = e.getValue();
            String module = e.getKey();
            if (rank == null) {
                rank = a.rank();
                scale = a.scale();
            } else if (rank != a.rank() || Math.abs(scale - a.scale()) > 1e-12) {
                throw new IllegalStateException("adapters of different ranks or scales cannot share one PEFT config");
            }
            targets.add(module);
            tensors.put(PREFIX + module + ".lora_A.weight", a.a().detach().toType(ScalarType.Float));
            tensors.put(PREFIX + module + ".lora_B.weight", a.b().detach().toType(ScalarType.Float));
        }
        if (rank == null) throw new IllegalStateException("no LoRA adapters are attached");
        ObjectNode cfg = new ObjectMapper().createObjectNode();
        cfg.put("peft_type", "LORA");
        cfg.put("task_type", "CAUSAL_LM");
        cfg.put("base_model_name_or_path", baseModel);
        cfg.put("r", rank);
        cfg.put("lora_alpha", scale * rank);
        cfg.put("lora_dropout", 0.0);
        cfg.put("bias", "none");
        cfg.put("use_rslora", false);
        cfg.put("fan_in_fan_out", fanInFanOut);
        cfg.put("inference_mode", true);
        // Full module names: PEFT matches a target by equality or as a dotted suffix, so nothing else gets an adapter.
        targets.forEach(cfg.putArray("target_modules")::add);
        Files.writeString(dir.resolve(CONFIG), new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(cfg));
        SafeTensorsWriter.write(dir.resolve(WEIGHTS), tensors, DType.F32, Map.of("format", "pt"));
    }

    /** Attaches the adapters of a PEFT LoRA folder to the network's linear layers; the model computes with them from now on. */
    public static void attach(Path dir, CausalLM net) {
        Path cfgPath = dir.resolve(CONFIG);
        if (!Files.isRegularFile(cfgPath)) throw new UserError(dir + ": not a PEFT adapter folder (no " + CONFIG + ")");
        if (!Files.isRegularFile(dir.resolve(WEIGHTS)))
            throw new UserError(dir + ": no " + WEIGHTS + " (only safetensors adapters are read)");
        JsonNode cfg;
        try {
            cfg = new ObjectMapper().readTree(Files.readString(cfgPath));
        } catch (IOException e) {
            throw new UserError(cfgPath + ": cannot read (" + e.getMessage() + ")");
        }
        String type = cfg.path("peft_type").asText("");
        if (!type.equals("LORA")) throw new UserError(cfgPath + ": field 'peft_type': only LORA adapters are supported, got '" + type + "'");
        int r = cfg.path("r").asInt(0);
        if (r <= 0) throw new UserError(cfgPath + ": field 'r': expected a positive integer, got " + cfg.get("r"));
        double alpha = cfg.path("lora_alpha").asDouble(Double.NaN);
        if (!(alpha > 0)) throw new UserError(cfgPath + ": field 'lora_alpha': expected a positive number, got " + cfg.get("lora_alpha"));
        // rsLoRA scales by alpha / √r instead of alpha / r; LoraAdapter divides by r, so hand it the alpha that gives that scale.
        double effectiveAlpha = cfg.path("use_rslora").asBoolean(false) ? alpha * Math.sqrt(r) : alpha;
        for (String unsupported : new String[] {"rank_pattern", "alpha_pattern"})
            if (cfg.path(unsupported).isObject() && cfg.path(unsupported).size() > 0)
                throw new UserError(cfgPath + ": field '" + unsupported + "': per-module ranks or alphas are not supported");
        if (cfg.path("use_dora").asBoolean(false)) throw new UserError(cfgPath + ": field 'use_dora': DoRA adapters are not supported");
        Map<String, Tensor[]> pairs = new LinkedHashMap<>();
        try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve(WEIGHTS))) {
            for (String name : f.entries().keySet()) {
                boolean isA = name.endsWith(".lora_A.weight"), isB = name.endsWith(".lora_B.weight");
                if (!isA && !isB) throw new UserError(f.path() + ": tensor '" + name + "' is not a LoRA A or B weight");
                String module = name.substring(0, name.length() - ".lora_A.weight".length());
                if (module.startsWith(PREFIX)) module = module.substring(PREFIX.length());
                pairs.computeIfAbsent(module, k -> new Tensor[2])[isA ? 0 : 1] = f.load(name, ScalarType.Float);
            }
        }
        List<String> unknown = new ArrayList<>();
        for (String module : pairs.keySet()) if (!net.linears().containsKey(module)) unknown.add(module);
        if (!unknown.isEmpty())
            throw new UserError(dir.resolve(WEIGHTS) + ": adapters for modules this model does not have: " + new TreeSet<>(unknown));
        pairs.forEach((module, ab) -> {
            if (ab[0] == null || ab[1] == null)
                throw new UserError(dir.resolve(WEIGHTS) + ": module '" + module + "' lacks its lora_" + (ab[0] == null ? "A" : "B") + " weight");
            Linear l = net.linear(module);
            long[] a = Tensors.shape(ab[0]), b = Tensors.shape(ab[1]);
            if (a.length != 2 || b.length != 2 || a[0] != r || b[1] != r || a[1] != l.inFeatures() || b[0] != l.outFeatures())
                throw new UserError(dir.resolve(WEIGHTS) + ": module '" + module + "': lora_A " + java.util.Arrays.toString(a) + " and lora_B "
                        + java.util.Arrays.toString(b) + " do not fit r=" + r + " and the layer's [" + l.outFeatures() + ", " + l.inFeatures() + "]");
            ab[0].retainReference();
            ab[1].retainReference();
            l.attach(new LoraAdapter(ab[0], ab[1], effectiveAlpha));
        });
    }
}
