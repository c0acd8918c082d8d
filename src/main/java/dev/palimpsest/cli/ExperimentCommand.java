package dev.palimpsest.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import dev.palimpsest.eval.Evaluator;
import dev.palimpsest.experiment.ExperimentRunner;
import dev.palimpsest.experiment.ResultRow;
import dev.palimpsest.experiment.SweepConfig;
import dev.palimpsest.io.OutputFolder;
import dev.palimpsest.io.OutputPolicy;
import dev.palimpsest.report.Report;

@Command(name = "experiment", mixinStandardHelpOptions = true,
        description = {"Run a sweep from a JSON config (methods × forget sizes × seeds on one model and dataset) and write",
                "results.jsonl, results.csv, report.md and plots into --out. See README for the config's fields."})
final class ExperimentCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--config", required = true, paramLabel = "FILE")
    Path config;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "A new (or empty) run folder; see --overwrite.")
    Path out;

    @Mixin
    OverwriteOption overwrite;

    @Mixin
    DeviceOption device;

    @Override
    public Integer call() throws Exception {
        device.apply();
        var err = spec.commandLine().getErr();
        try (OutputFolder folder = overwrite.folder(out, null, config)) {
            SweepConfig c = SweepConfig.read(config, err);
            folder.guard(new OutputPolicy.Guarded(c.setting().model(), "the sweep's model"));
            run(c, folder);
        }
        return 0;
    }

    private void run(SweepConfig c, OutputFolder folder) throws Exception {
        var err = spec.commandLine().getErr();
        Evaluator.Options opts = new Evaluator.Options(c.maxNewTokens(), 32, 100, Evaluator.Ranks.GREEDY);
        List<ResultRow> rows = new ArrayList<>();
        for (String m : c.methods())
            for (int n : c.sizes())
                for (long seed : c.seeds())
                    for (int merge : c.merges())
                        rows.addAll(ExperimentRunner.run(new ExperimentRunner.Run(c.setting(), m, n, seed,
                                c.settings().getOrDefault(m, Map.of()), merge), opts, err));
        String md = Report.write(rows, folder.staging(), c.title());
        folder.publish("run");
        spec.commandLine().getOut().println(md);
        spec.commandLine().getOut().println("report in " + folder.target());
    }
}
