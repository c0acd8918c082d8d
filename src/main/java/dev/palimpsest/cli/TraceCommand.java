package dev.palimpsest.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;


import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import dev.palimpsest.method.locate.CausalTrace;
import dev.palimpsest.model.LanguageModel;

@Command(name = "trace", mixinStandardHelpOptions = true,
        description = {"Causal tracing: corrupt the subject's embeddings, restore one hidden state (layer x token) at a time,",
                "and show how much of the answer's probability each restores, as a table and a PNG heat map."})
final class TraceCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption model;

    @Mixin
    PromptOptions prompt;

    @Option(names = "--subject", required = true, description = "The words of the prompt the fact is about.")
    String subject;

    @Option(names = "--out", paramLabel = "FILE", description = "PNG heat map (default trace.png; an existing file needs --overwrite).", defaultValue = "trace.png")
    Path out;

    @Mixin
    OverwriteOption overwrite;

    @Option(names = "--seed", defaultValue = "0")
    long seed;

    @Override
    public Integer call() throws Exception {
        var o = spec.commandLine().getOut();
        Path png = overwrite.file(out, model.dir);
        try (LanguageModel m = model.load()) {
            CausalTrace.Result r = CausalTrace.trace(m, prompt.text(m), subject, seed);
            o.printf("answer %s: p = %.4f clean, %.4f with the subject corrupted%n", ScoreCommand.quote(r.answer()), r.clean(), r.corrupted());
            o.printf("%-18s", "token \\ layer");
            for (int l = 0; l < r.restored().length; l++) o.printf("%8d", l);
            o.println();
            for (int t = 0; t < r.tokens().size(); t++) {
                o.printf("%-18s", ScoreCommand.quote(r.tokens().get(t)));
                for (int l = 0; l < r.restored().length; l++) o.printf("%8.3f", r.effect(l, t));
                o.println();
            }
            int layers = r.restored().length, tokens = r.tokens().size();
            java.util.List<String> rows = new java.util.ArrayList<>();
            for (int t = 0; t < tokens; t++) rows.add(t + " " + r.tokens().get(t).replace("\n", "\\n"));
            double[][] effect = new double[layers][tokens];
            for (int l = 0; l < layers; l++)
                for (int t = 0; t < tokens; t++) effect[l][t] = r.effect(l, t);
            dev.palimpsest.report.Plots.heatMap(png, "restored p(" + r.answer().strip() + ") − corrupted", "layer", "token", rows, effect);
            o.println("heat map: " + png);
        }
        return 0;
    }
}
