package dev.palimpsest.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import dev.palimpsest.data.DataFormat;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.data.QaReader;
import dev.palimpsest.eval.Evaluator;
import dev.palimpsest.experiment.ExperimentRunner;
import dev.palimpsest.experiment.ResultRow;
import dev.palimpsest.method.MethodRegistry;
import dev.palimpsest.report.Report;
import dev.palimpsest.world.DefaultModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"The main job: on the built-in default model, run every registered method on the world's",
                "pretrained-knowledge and finetuned-knowledge settings, print the table and write the report",
                "(report.md, results.csv, results.jsonl, PNG plots) into a run folder whose path it prints."})
final class DemoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--out", paramLabel = "DIR", description = "Run folder (default runs/demo-<time>).")
    Path out;

    @Option(names = "--seed", defaultValue = "0", description = "World, model and split seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--sizes", split = ",", defaultValue = "10,20,40",
            description = "Forget-set sizes swept in the pretrained setting (default ${DEFAULT-VALUE}); the table uses the largest.")
    List<Integer> sizes;

    @Option(names = "--methods", split = ",", description = "Methods to compare (default: every registered one).")
    List<String> methods;

    @Override
    public Integer call() throws Exception {
        long t0 = System.nanoTime();
        PrintWriter err = spec.commandLine().getErr();
        Path base = DefaultModel.ensure(seed, err), finetuned = DefaultModel.ensureFinetuned(seed, err);
        Path world = DefaultModel.folder(seed).resolve("world");
        List<QaItem> pre = QaReader.read(world.resolve("pretrain.json"), DataFormat.WORLD);
        List<QaItem> ft = QaReader.read(world.resolve("finetune.json"), DataFormat.WORLD);
        List<String> ms = methods != null ? methods : new ArrayList<>();
        if (methods == null) MethodRegistry.names().forEach(ms::add);
        ms.forEach(MethodRegistry::get); // unknown names fail before any work
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
        Path dir = out != null ? out
                : Path.of("runs", "demo-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        String md = Report.write(rows, dir, "palimpsest demo: unlearning on the built-in world (seed " + seed + ")");
        var o = spec.commandLine().getOut();
        o.println(md);
        o.printf("wall time %.0f s; report in %s%n", (System.nanoTime() - t0) / 1e9, dir.toAbsolutePath());
        return 0;
    }
}
