package dev.palimpsest.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import dev.palimpsest.UserError;
import dev.palimpsest.data.DataFormat;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.data.QaReader;
import dev.palimpsest.eval.UpdateChecks;
import dev.palimpsest.io.OutputFolder;
import dev.palimpsest.method.FiniteOutputs;
import dev.palimpsest.request.KnowledgeRequest;
import dev.palimpsest.request.Requests;
import dev.palimpsest.method.TrainedUpdate;
import dev.palimpsest.method.MethodRegistry;
import dev.palimpsest.method.Preset;
import dev.palimpsest.method.Settings;
import dev.palimpsest.method.Update;
import dev.palimpsest.method.UpdateMethod;
import dev.palimpsest.model.DType;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.Memory;
import dev.palimpsest.model.PeftAdapter;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.train.Lora;

@Command(name = "update", mixinStandardHelpOptions = true,
        description = {"Apply one update method: forget the answers of --forget, install the answers of --edit.",
                "Writes the updated model to --out (loadable with --model) and palimpsest_update.json (method, settings, requests, seed, time).",
                "--out must be a new path or an empty folder (or, with --overwrite, a folder palimpsest wrote); it is checked before",
                "any compute and appears complete or not at all. Nothing is written if the method fails (e.g. its loss becomes NaN)."})
final class UpdateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption model;

    @Option(names = "--method", required = true, description = "An update method; `palimpsest methods` lists them with their defaults.")
    String method;

    @Option(names = "--forget", paramLabel = "FILE", description = "QA file whose answers are to be forgotten.")
    Path forget;

    @Option(names = "--edit", paramLabel = "FILE", description = "Prompts with new targets (QA file: its answers; zsre/counterfact: target_new).")
    Path edit;

    @Option(names = "--retain", paramLabel = "FILE", description = "QA file whose answers must survive (methods with a retain term).")
    Path retain;

    @Option(names = "--format", required = true, description = "Format of the files: tofu, pistol, world, pku, zsre, counterfact.")
    String format;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Method setting (repeatable), e.g. --set lr=5e-4 --set epochs=10.")
    Map<String, String> settings = new LinkedHashMap<>();

    @Option(names = "--preset", paramLabel = "NAME",
            description = "Start from a toolkit's published settings for this method and the model's model_type (easyedit: ROME, MEMIT, AlphaEdit, GRACE, WISE on llama and gpt2; open-unlearning: ga, gd, kl, npo, dpo on any model; `methods --preset NAME` lists them); --set values win.")
    String preset;

    @Option(names = "--refusals", defaultValue = "template",
            description = "Targets of forget requests: template (\"I don't know anything about <entities>.\"), idk (drawn from the built-in set of 52 \"I don't know\" answers), self (self-improved by the model). Default ${DEFAULT-VALUE}.")
    String refusals;

    @Option(names = "--merge", defaultValue = "1", description = "Query merging: pack this many forget questions into one request (default ${DEFAULT-VALUE}).")
    int merge;

    @Mixin
    TemplateOption template;

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "A new folder (or an empty one) for the updated model; see --overwrite.")
    Path out;

    @Mixin
    OverwriteOption overwrite;

    @Option(names = "--seed", defaultValue = "0")
    long seed;

    @Option(names = "--adapter-out", paramLabel = "DIR",
            description = "Also write the update's LoRA adapters as a PEFT adapter folder (adapter_config.json + adapter_model.safetensors) "
                    + "that PEFT and `--adapter` load onto the input model; needs a method trained with --set lora_rank=N. --out still gets the merged model.")
    Path adapterOut;

    @Override
    public Integer call() throws Exception {
        if (forget == null && edit == null) throw new UserError("give --forget FILE, --edit FILE, or both");
        if (merge < 1) throw new UserError("--merge must be at least 1, got " + merge);
        if (!Requests.REFUSALS.contains(refusals))
            throw new UserError("--refusals must be idk, template or self, got '" + refusals + "'");
        DataFormat fmt = DataFormat.parse(format);
        UpdateMethod updater = MethodRegistry.get(method);
        Settings.check(updater, settings);
        if (preset != null) Preset.of(preset);
        if (adapterOut != null) {
            if (updater.settings().stream().noneMatch(st -> st.name().equals(TrainedUpdate.LORA_MERGE)))
                throw new UserError("--adapter-out: " + method + " does not train LoRA adapters (the fine-tuning methods do, with --set lora_rank=N)");
            if (Integer.parseInt(settings.getOrDefault("lora_rank", "0")) <= 0)
                throw new UserError("--adapter-out needs LoRA adapters to export: add --set lora_rank=N (e.g. 8)");
            if (model.adapter != null)
                throw new UserError("--adapter-out with --adapter: the new adapter would apply on top of the merged input; save the merged model first and update that");
            if (adapterOut.toAbsolutePath().normalize().equals(out.toAbsolutePath().normalize()))
                throw new UserError("--adapter-out and --out must be different folders");
            settings.put(TrainedUpdate.LORA_MERGE, "false");
        }
        List<QaItem> forgets = forget == null ? List.of() : QaReader.read(forget, fmt);
        List<KnowledgeRequest> edits = edit == null ? List.of() : Requests.edits(edit, fmt);
        List<QaItem> keep = retain == null ? List.of() : QaReader.read(retain, fmt);
        if (keep.isEmpty() && updater.withoutRetain() != null) spec.commandLine().getErr().println("warning: no --retain: " + updater.withoutRetain());
        long t0 = System.nanoTime();
        try (OutputFolder folder = overwrite.folder(out, model.dir, forget, edit, retain);
                OutputFolder adapterFolder = adapterOut == null ? null : overwrite.folder(adapterOut, model.dir, forget, edit, retain);
                LanguageModel m = model.loadMerged()) {
            DType saveAs = model.saveType(m);
            folder.requireSpace(m.savedBytes(saveAs));
            QuestionFormat qf = template.format(m);
            List<KnowledgeRequest> requests = new ArrayList<>(Requests.forget(forgets, refusals, merge, seed, m, qf));
            requests.addAll(edits);
            Map<String, String> used = settings;
            if (preset != null) {
                String modelType = m.config().raw().path("model_type").asText("");
                Preset p = Preset.find(preset, method, modelType);
                used = p.under(settings);
                Settings.check(updater, used);
                spec.commandLine().getErr().printf("preset %s: %s on %s from %s%s%n", preset, method, modelType, p.source(),
                        p.notApplied().isEmpty() ? "" : "; not reproduced: " + String.join("; ", p.notApplied()));
            }
            Update u = updater.apply(m, qf, requests, keep, used, seed);
            FiniteOutputs.check(method, m, qf, requests);
            UpdateChecks checks = UpdateChecks.measure(m, qf, requests);
            if (adapterFolder != null) {
                adapterFolder.fill(dir -> PeftAdapter.write(dir, m.net(), model.dir.toAbsolutePath().toString()));
                adapterFolder.publish("PEFT adapter");
                Lora.mergeAll(m.net());
            }
            folder.fill(dir -> m.writeInto(dir, saveAs));
            Map<String, Object> rec = new LinkedHashMap<>();
            rec.put("method", method);
            rec.put("preset", preset);
            rec.put("settings", u.settings());
            rec.put("model", model.dir.toString());
            rec.put("refusals", refusals);
            rec.put("merge", merge);
            rec.put("seed", seed);
            rec.put("seconds", (System.nanoTime() - t0) / 1e9);
            rec.put("update_seconds", u.seconds());
            rec.put("checks", checks.record());
            rec.put("requests", requests);
            folder.writeJson(RECORD, rec);
            folder.publish("model");
            spec.commandLine().getOut().printf("%s: %s applied to %d requests in %.1f s; %s%n", out, method, requests.size(), u.seconds(),
                    checks.summary());
            if (checks.mostlyFailed())
                spec.commandLine().getErr().printf("warning: fewer than half of the requests took (%s); %s%n", checks.summary(),
                        updater.whenItDoesNotTake());
            if (adapterOut != null) spec.commandLine().getOut().printf("%s: the update's LoRA adapters as a PEFT adapter for %s%n", adapterOut, model.dir);
            for (Memory mem : m.memories())
                spec.commandLine().getOut().printf("%s: the update lives in %s beside the unchanged weights; only palimpsest applies it "
                        + "(transformers and vLLM load the folder as the original model)%n", out, mem.file());
        }
        return 0;
    }

    /** What the update did (method, settings, requests); written beside the weights, before the folder's commit record. */
    static final String RECORD = "palimpsest_update.json";
}
