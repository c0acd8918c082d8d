package dev.palimpsest.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
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
import dev.palimpsest.eval.Evaluator;
import dev.palimpsest.experiment.CombinedTask;
import dev.palimpsest.experiment.ExperimentRunner;
import dev.palimpsest.experiment.ResultRow;
import dev.palimpsest.io.AtomicFiles;
import dev.palimpsest.io.OutputFolder;
import dev.palimpsest.method.MethodRegistry;
import dev.palimpsest.report.CombinedReport;
import dev.palimpsest.report.Report;
import dev.palimpsest.world.DefaultModel;
import dev.palimpsest.world.SafetyModel;
import dev.palimpsest.world.SafetySet;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"The main job: on a built-in model (--model default or default-bios), run the editing-as-unlearning paper's comparison (or",
                "--methods all) on the world's pretrained-knowledge and finetuned-knowledge settings, print the table and",
                "write the report (report.md, results.csv, results.jsonl, PNG plots) into a run folder whose path it prints."})
final class DemoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--out", paramLabel = "DIR", description = "A new (or empty) run folder (default runs/demo-<time>); see --overwrite.")
    Path out;

    @Option(names = "--seed", defaultValue = "0", description = "World, model and split seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--model", defaultValue = "default",
            description = "The built-in model: default (the default world) or default-bios (the bios world, whose facts the model learned from biographies; built once, about 25 minutes). Default ${DEFAULT-VALUE}.")
    String model;

    @Option(names = "--sizes", split = ",", defaultValue = "10",
            description = "Forget-set sizes swept in the pretrained setting (default ${DEFAULT-VALUE}, e.g. 10,20,40 for the papers' sweep); the table uses the largest, which the finetuned setting also forgets.")
    List<Integer> sizes;

    @Option(names = "--methods", split = ",",
            description = "Methods to compare, or 'all' for every registered one (default: the editing-as-unlearning paper's comparison, " + DEFAULT_METHODS + ").")
    List<String> methods;

    /**
     * The paper's comparison: the untouched model, its unlearning baselines and its editing methods. Its "DPO" is
     * TOFU's, the NLL of "I don't know" answers (its Eq. 7): here {@code idk}; {@code dpo} is the preference loss.
     */
    static final String DEFAULT_METHODS = "none,ga,gd,kl,idk,rome,memit,alphaedit,grace,wise";

    @Option(names = "--task", defaultValue = "unlearn",
            description = "unlearn (each method forgets --sizes facts, in two settings), combined (edit --edits facts and forget --forgets facts in one update: LOKA against joint fine-tuning, GD, a single LoRA, GRACE and WISE) "
                    + "or safety (the same methods edit --edits facts while forgetting the unsafe answers of --forgets harmful requests of the world's safety set, on a copy of the model taught those answers). Default ${DEFAULT-VALUE}.")
    String task;

    @Option(names = "--edits", defaultValue = "20", description = "Combined task: facts edited into counterfactuals (default ${DEFAULT-VALUE}).")
    int edits;

    @Option(names = "--forgets", defaultValue = "20", description = "Combined task: facts forgotten; safety task: harmful requests forgotten (default ${DEFAULT-VALUE}).")
    int forgets;

    @Mixin
    OverwriteOption overwrite;

    @Option(names = "--split-seeds", split = ",", paramLabel = "S,…",
            description = "Combined task: the seeds of the edit/forget/retain split, each run on the same model (default: --seed); with several, the table gives mean ± sd over them.")
    List<Long> splitSeeds;

    @Option(names = "--rounds", defaultValue = "1",
            description = "Combined task: apply the update in this many sequential rounds, measuring after each (default ${DEFAULT-VALUE}: all at once).")
    int rounds;

    @Mixin
    DeviceOption device;

    @Override
    public Integer call() throws Exception {
        device.apply();
        if (!List.of("unlearn", "combined", "safety").contains(task)) throw new UserError("--task must be unlearn, combined or safety, got '" + task + "'");
        if (sizes.stream().anyMatch(n -> n < 1)) throw new UserError("--sizes must all be at least 1, got " + sizes);
        if (edits < 0 || forgets < 0 || edits + forgets < 1) throw new UserError("--edits and --forgets must be at least 0, and not both 0");
        if (splitSeeds != null && (splitSeeds.isEmpty() || splitSeeds.size() != splitSeeds.stream().distinct().count()))
            throw new UserError("--split-seeds must list distinct seeds, got " + splitSeeds);
        if (splitSeeds != null && splitSeeds.size() > 1 && rounds > 1) throw new UserError("--rounds above 1 takes one split seed, got " + splitSeeds);
        if (rounds < 1) throw new UserError("--rounds must be at least 1, got " + rounds);
        builtIn = DefaultModel.BuiltIn.named(model);
        if (builtIn == null) throw new UserError("--model must be default or default-bios, got '" + model + "'");
        Path dir = out != null ? out
                : Path.of("runs", (task.equals("unlearn") ? "demo" : task) + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        try (OutputFolder folder = overwrite.folder(dir, null)) {
            if (task.equals("unlearn")) unlearn(folder);
            else combined(folder, task.equals("safety"));
        }
        return 0;
    }

    private DefaultModel.BuiltIn builtIn;

    private void unlearn(OutputFolder folder) throws Exception {
        long t0 = System.nanoTime();
        List<String> ms = new ArrayList<>(methods != null ? methods : List.of(DEFAULT_METHODS.split(",")));
        if (ms.equals(List.of("all"))) {
            ms.clear();
            MethodRegistry.names().forEach(ms::add);
        }
        ms.forEach(MethodRegistry::get); // unknown names fail before any work
        PrintWriter err = spec.commandLine().getErr();
        Path base = DefaultModel.ensure(builtIn, seed, err), finetuned = DefaultModel.ensureFinetuned(builtIn, seed, err);
        Path world = DefaultModel.folder(builtIn, seed).resolve("world");
        List<QaItem> pre = QaReader.read(world.resolve("pretrain.json"), DataFormat.WORLD);
        List<QaItem> ft = QaReader.read(world.resolve("finetune.json"), DataFormat.WORLD);
        int largest = sizes.stream().mapToInt(Integer::intValue).max().orElse(40);
        var pretrained = new ExperimentRunner.Setting("pretrained knowledge", base, pre, null);
        var finetunedSetting = new ExperimentRunner.Setting("finetuned knowledge", finetuned, ft, pre);
        List<ResultRow> rows = new ArrayList<>();
        for (String m : ms) {
            for (int n : sizes)
                rows.addAll(ExperimentRunner.run(new ExperimentRunner.Run(pretrained, m, n, seed, Map.of()),
                        Evaluator.Options.DEFAULT, err));
            rows.addAll(ExperimentRunner.run(new ExperimentRunner.Run(finetunedSetting, m, largest, seed, Map.of()),
                    Evaluator.Options.DEFAULT, err));
        }
        String md = Report.write(rows, folder.staging(), "palimpsest demo: unlearning on the built-in " + builtIn.modelName + " model (seed " + seed + ")");
        folder.publish("run");
        var o = spec.commandLine().getOut();
        o.println(md);
        o.printf("wall time %.0f s; report in %s%n", (System.nanoTime() - t0) / 1e9, folder.target());
    }

    /**
     * LOKA's task on the default model's pretrained facts, or its safety setting on the model taught the safety set's
     * answers; --methods picks variants by their labels.
     */
    private void combined(OutputFolder folder, boolean safety) throws Exception {
        long t0 = System.nanoTime();
        PrintWriter err = spec.commandLine().getErr();
        List<SafetySet.Request> unsafe = safety ? SafetyModel.requests(builtIn, seed) : List.of();
        List<QaItem> harmful = SafetyModel.harmful(unsafe);
        if (safety && forgets > harmful.size())
            throw new UserError("--forgets: the " + builtIn.modelName + " world's safety set has " + harmful.size() + " harmful requests, asked for " + forgets);
        Path base = safety ? SafetyModel.ensure(builtIn, seed, err) : DefaultModel.ensure(builtIn, seed, err);
        List<QaItem> pre = QaReader.read(DefaultModel.folder(builtIn, seed).resolve("world").resolve("pretrain.json"), DataFormat.WORLD);
        List<CombinedTask.Variant> variants = new ArrayList<>();
        for (CombinedTask.Variant v : CombinedTask.defaults()) if (methods == null || methods.contains(v.label())) variants.add(v);
        if (variants.isEmpty()) throw new UserError("--methods matches none of the combined task's methods: "
                + String.join(", ", CombinedTask.defaults().stream().map(CombinedTask.Variant::label).toList()));
        List<Long> seeds = splitSeeds != null ? splitSeeds : List.of(seed);
        List<ResultRow> rows = new ArrayList<>();
        for (long s : seeds) {
            CombinedTask.Split split = safety ? CombinedTask.Split.safety(pre, edits, harmful.subList(0, forgets), SafetyModel.benign(unsafe), s)
                    : CombinedTask.Split.of(pre, edits, forgets, s);
            for (CombinedTask.Variant v : variants)
                rows.addAll(CombinedTask.runRounds(safety ? "edit and forget harmful answers" : "edit and forget", base, split, v, rounds, s,
                        Evaluator.Options.DEFAULT, err));
        }
        Path dir = folder.staging();
        Report.writeRows(rows, dir);
        String what = safety ? "edit " + edits + " facts and forget the unsafe answers of " + forgets + " harmful requests"
                : "edit " + edits + " and forget " + forgets + " facts";
        String md = CombinedReport.write(rows, dir, "palimpsest demo: " + what + (rounds == 1 ? " at once" : " in " + rounds + " rounds") + " on "
                + builtIn.modelName + (safety ? " (taught the safety set)" : "") + " (seed " + seed + ")", rounds > 1);
        folder.publish("run");
        var o = spec.commandLine().getOut();
        o.println(md);
        o.printf("wall time %.0f s; report in %s%n", (System.nanoTime() - t0) / 1e9, folder.target());
    }
}
