package dev.palimpsest.method;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.palimpsest.UserError;

/**
 * Published hyper-parameters, so that a palimpsest run can stand next to a paper's: per toolkit, method and model
 * type (config.json's model_type), the settings that toolkit ships, in palimpsest's names, with the file they come
 * from and what of it palimpsest does not reproduce. Explicit --set values still win. Written from the toolkits'
 * public configuration files; where a setting has no counterpart here it is listed, never silently approximated.
 */
public record Preset(String name, String method, String modelType, Map<String, String> settings, String source,
        List<String> notApplied) {

    private static final String EE = "EasyEdit hparams/";
    /** What EasyEdit's locate-and-edit files hold that palimpsest counts or places differently. */
    private static final String SAMPLES = "mom2_n_samples 100000 (Wikipedia samples; palimpsest counts tokens of corpus=FILE: set mom2_tokens)";
    private static final String TEMPLATES = "context_template_length_params [[5,10],[10,10]] (palimpsest writes its own five prefixes)";

    static final List<Preset> ALL = List.of(
            new Preset("easyedit", "rome", "llama", ordered("layer", "5", "position", "subject", "v_steps", "25", "v_lr", "0.5",
                    "v_weight_decay", "1e-3", "clamp_norm", "4", "kl_factor", "0.0625", "mom2_adjustment", "false"),
                    EE + "ROME/llama-7b.yaml", List.of(TEMPLATES)),
            new Preset("easyedit", "rome", "gpt2", ordered("layer", "17", "position", "subject", "v_steps", "20", "v_lr", "0.5",
                    "v_weight_decay", "0.5", "clamp_norm", "4", "kl_factor", "0.0625", "mom2_adjustment", "true"),
                    EE + "ROME/gpt2-xl.yaml", List.of(SAMPLES, TEMPLATES)),
            new Preset("easyedit", "memit", "llama", ordered("layers", "4-8", "position", "subject", "tokens", "first", "v_steps", "25",
                    "v_lr", "0.5", "v_weight_decay", "1e-3", "clamp_norm", "4", "kl_factor", "0.0625", "mom2_update_weight", "15000"),
                    EE + "MEMIT/llama-7b.yaml", List.of(SAMPLES, TEMPLATES)),
            new Preset("easyedit", "memit", "gpt2", ordered("layers", "13-17", "position", "subject", "tokens", "first", "v_steps", "20",
                    "v_lr", "0.5", "v_weight_decay", "0.5", "clamp_norm", "0.75", "kl_factor", "0.0625", "mom2_update_weight", "20000"),
                    EE + "MEMIT/gpt2-xl.yaml", List.of(SAMPLES, TEMPLATES)),
            new Preset("easyedit", "alphaedit", "llama", ordered("layers", "4-8", "position", "subject", "tokens", "first", "v_steps", "25",
                    "v_lr", "0.1", "v_weight_decay", "0.5", "clamp_norm", "0.75", "kl_factor", "0.0625", "nullspace_threshold", "2e-2",
                    "l2", "10"),
                    EE + "AlphaEdit/llama3-8b.yaml (EasyEdit ships AlphaEdit for Llama-3 only)", List.of(SAMPLES, TEMPLATES)),
            new Preset("easyedit", "alphaedit", "gpt2", ordered("layers", "13-17", "position", "subject", "tokens", "first", "v_steps", "20",
                    "v_lr", "0.5", "v_weight_decay", "0.5", "clamp_norm", "0.75", "kl_factor", "0.0625", "nullspace_threshold", "2e-2",
                    "l2", "10"),
                    EE + "AlphaEdit/gpt2-xl.yaml", List.of(SAMPLES, TEMPLATES)),
            new Preset("easyedit", "grace", "llama", ordered("layer", "27", "lr", "1.0", "iterations", "50", "eps", "1.0"),
                    EE + "GRACE/llama-7b.yaml",
                    List.of("val_init cold, replacement replace_last (palimpsest adds one entry per target token, each trained from its key)")),
            new Preset("easyedit", "grace", "gpt2", ordered("layer", "35", "lr", "1.0", "iterations", "200", "eps", "1.0"),
                    EE + "GRACE/gpt2-xl.yaml",
                    List.of("inner_params transformer.h[35].mlp.c_fc (palimpsest's codebook replaces that layer's MLP output)",
                            "val_init cold, replacement replace_last (palimpsest adds one entry per target token, each trained from its key)")),
            new Preset("easyedit", "wise", "llama", ordered("layer", "27", "mask_ratio", "0.2", "lr", "1.0", "iterations", "70",
                    "norm_constraint", "1.0", "alpha", "5", "beta", "20", "gamma", "10", "act_ratio", "0.88", "save_freq", "500",
                    "merge_freq", "1000", "density", "0.53", "replay", "0"),
                    EE + "WISE/llama-7b.yaml", List.of("retrieve True (WISE-Retrieve; palimpsest merges shards and routes by activation)")),
            new Preset("easyedit", "wise", "gpt2", ordered("layer", "8", "mask_ratio", "0.2", "lr", "1.0", "iterations", "40",
                    "norm_constraint", "1.0", "alpha", "5", "beta", "20", "gamma", "10", "act_ratio", "0.8", "save_freq", "500",
                    "merge_freq", "1000", "density", "0.53", "replay", "0"),
                    EE + "WISE/gpt2-xl.yaml",
                    List.of("inner_params transformer.h[8].mlp.c_fc (palimpsest's side memory copies that layer's MLP down-projection)",
                            "retrieve True (WISE-Retrieve; palimpsest merges shards and routes by activation)")),
            ou("ga", ordered("retain_weight", "0"), "GradAscent.yaml"),
            ou("gd", ordered("retain", "nll", "retain_weight", "1"), "GradDiff.yaml (gamma 1, alpha 1, retain_loss_type NLL)"),
            ou("kl", ordered("retain", "kl", "retain_weight", "1"), "GradDiff.yaml with retain_loss_type KL"),
            ou("npo", ordered("beta", "0.1", "retain", "nll", "retain_weight", "1"), "NPO.yaml (beta 0.1, alpha 1, gamma 1)"),
            ou("dpo", ordered("beta", "0.1", "retain", "nll", "retain_weight", "1", "refusal_weight", "0"), "DPO.yaml (beta 0.1, alpha 1, gamma 1)"));

    /**
     * open-unlearning's TOFU unlearning runs, the same on every model: its trainer file, finetune.yaml's batch (8 per
     * device × 4 accumulation steps, on one device) and experiment/unlearn/tofu/default.yaml's rate, epochs, one warm-up
     * epoch and weight decay, under transformers' default linear schedule.
     */
    private static Preset ou(String method, Map<String, String> own, String trainerFile) {
        Map<String, String> m = new LinkedHashMap<>(own);
        m.put("lr", "1e-5");
        m.put("epochs", "10");
        m.put("batch", "32");
        m.put("weight_decay", "0.01");
        m.put("warmup_epochs", "1");
        m.put("lr_schedule", "linear");
        return new Preset("open-unlearning", method, ANY, m, "open-unlearning configs/trainer/" + trainerFile
                + ", trainer/finetune.yaml, experiment/unlearn/tofu/default.yaml",
                List.of("bf16 and paged_adamw_32bit (use --dtype bfloat16 for the first; palimpsest's AdamW keeps fp32 masters)"));
    }

    /** A preset for every model type. */
    static final String ANY = "any";

    private static Map<String, String> ordered(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put(kv[i], kv[i + 1]);
        return m;
    }

    public static List<String> names() {
        return ALL.stream().map(Preset::name).distinct().toList();
    }

    public static List<Preset> of(String name) {
        List<Preset> out = ALL.stream().filter(p -> p.name.equals(name)).toList();
        if (out.isEmpty()) throw new UserError("--preset '" + name + "' is not one of " + String.join(", ", names()));
        return out;
    }

    /** The preset for a method on a model type, or an error naming the ones there are. */
    public static Preset find(String name, String method, String modelType) {
        List<Preset> all = of(name);
        for (Preset p : all) if (p.method.equals(method) && (p.modelType.equals(modelType) || p.modelType.equals(ANY))) return p;
        List<String> there = new ArrayList<>();
        for (Preset p : all) there.add(p.method + " on " + p.modelType);
        throw new UserError("--preset " + name + " has no settings for " + method + " on model_type '" + modelType + "' (it has: "
                + String.join(", ", there) + ")");
    }

    /** The preset's settings with the user's on top. */
    public Map<String, String> under(Map<String, String> explicit) {
        Map<String, String> m = new LinkedHashMap<>(settings);
        m.putAll(explicit);
        return m;
    }

    /** README's table of a preset: one row per method and model type, each value with its source file. */
    public static String markdown(String name) {
        StringBuilder b = new StringBuilder("| method | model_type | settings | from | not reproduced |\n|---|---|---|---|---|\n");
        for (Preset p : of(name)) {
            StringBuilder set = new StringBuilder();
            p.settings.forEach((k, v) -> set.append(set.length() == 0 ? "" : " ").append('`').append(k).append('=').append(v).append('`'));
            b.append("| `").append(p.method).append("` | ").append(p.modelType).append(" | ").append(set).append(" | ").append(p.source)
                    .append(" | ").append(p.notApplied.isEmpty() ? "—" : String.join("; ", p.notApplied)).append(" |\n");
        }
        return b.toString();
    }
}
