package dev.palimpsest.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
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
import dev.palimpsest.method.LossTerms;
import dev.palimpsest.method.MethodRegistry;
import dev.palimpsest.method.loka.Loka;
import dev.palimpsest.request.KnowledgeRequest;
import dev.palimpsest.request.Requests;
import dev.palimpsest.method.loka.ConflictAnalysis;
import dev.palimpsest.model.LanguageModel;

@Command(name = "analyze", mixinStandardHelpOptions = true, description = "Analyses of an update before it is made.",
        subcommands = {AnalyzeCommand.Conflicts.class})
final class AnalyzeCommand {
    @Command(name = "conflicts", mixinStandardHelpOptions = true,
            description = {"Train one shared LoRA memory on editing (NLL of the new targets) and unlearning (NPO) at once for an epoch,",
                    "record the cosine between the two gradients at every step, print the share of conflicting (negative) steps",
                    "and write a PNG histogram (LOKA's Figure 1). With --after-split, then run LOKA on the same requests and print",
                    "the share of its training steps whose two gradients still conflict inside a memory. The model is not changed."})
    static final class Conflicts implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ModelOption model;

        @Mixin
        TemplateOption template;

        @Option(names = "--edit", required = true, paramLabel = "FILE", description = "Prompts with new targets.")
        Path edit;

        @Option(names = "--forget", required = true, paramLabel = "FILE", description = "QA file whose answers are to be forgotten.")
        Path forget;

        @Option(names = "--format", required = true, description = "Format of --forget (and of --edit unless --edit-format): tofu, pistol, world, pku, zsre, counterfact.")
        String format;

        @Option(names = "--edit-format", description = "Format of --edit when it differs from --format.")
        String editFormat;

        @Option(names = "--out", paramLabel = "FILE", defaultValue = "conflicts.png", description = "PNG histogram (default ${DEFAULT-VALUE}; an existing file needs --overwrite).")
        Path out;

        @Option(names = "--batch-size", defaultValue = "4")
        int batchSize;

        @Option(names = "--lr", defaultValue = "1e-4", description = "AdamW learning rate of the joint training (default ${DEFAULT-VALUE}).")
        double lr;

        @Option(names = "--rank", defaultValue = "8", description = "LoRA rank of the shared memory on every MLP down-projection (default ${DEFAULT-VALUE}).")
        int rank;

        @Option(names = "--epochs", defaultValue = "1")
        int epochs;

        @Option(names = "--forget-loss", defaultValue = "npo", description = "Unlearning term: npo, ga or refusal (NLL of a refusal) (default ${DEFAULT-VALUE}).")
        String forgetLoss;

        @Option(names = "--after-split", description = "Also run LOKA (default settings, forgetting by --forget-loss) and report its memories' conflicting steps.")
        boolean afterSplit;

        @Option(names = "--retain", paramLabel = "FILE", description = "With --after-split: QA file (in --format) LOKA keeps, as it would in an update.")
        Path retain;

        @Option(names = "--tau", description = "With --after-split: LOKA's conflict threshold (default LOKA's own; 0 splits only clusters whose gradients pull apart at the start).")
        Double tau;

        @Mixin
        OverwriteOption overwrite;

        @Option(names = "--seed", defaultValue = "0")
        long seed;

        @Override
        public Integer call() throws Exception {
            if (batchSize < 1 || rank < 1 || epochs < 1) throw new UserError("--batch-size, --rank and --epochs must be at least 1");
            if (!(lr > 0) || !Double.isFinite(lr)) throw new UserError("--lr must be a positive number, got " + lr);
            DataFormat fmt = DataFormat.parse(format), efmt = editFormat == null ? fmt : DataFormat.parse(editFormat);
            if (!List.of("npo", "ga", "refusal").contains(forgetLoss)) throw new UserError("--forget-loss must be npo, ga or refusal, got '" + forgetLoss + "'");
            LossTerms.Forget forgetTerm = LossTerms.Forget.parse(forgetLoss);
            if ((retain != null || tau != null) && !afterSplit) throw new UserError("--retain and --tau are only read with --after-split");
            var o = spec.commandLine().getOut();
            Path png = overwrite.file(out, model.dir, edit, forget);
            try (LanguageModel m = model.loadMerged()) {
                var requests = Requests.edits(edit, efmt);
                var items = QaReader.read(forget, fmt);
                ConflictAnalysis.Result r = ConflictAnalysis.run(m, template.format(m), requests, items,
                        new ConflictAnalysis.Settings(batchSize, lr, rank, forgetTerm, 0.1, epochs, seed));
                o.printf("one shared memory, %d steps: cosine(editing, unlearning) mean %.3f; %.1f %% of the steps conflict (cosine < 0)%n",
                        r.cosines().length, r.mean(), 100 * r.negativeShare());
                writeHistogram(r, png);
                o.println("histogram: " + png);
                if (afterSplit) afterSplit(m, requests, items, retain == null ? List.of() : QaReader.read(retain, fmt), o);
            }
            return 0;
        }

        /** LOKA on the same requests; per memory, the steps where its two gradients pointed apart. */
        private void afterSplit(LanguageModel m, List<KnowledgeRequest> edits, List<QaItem> forget, List<QaItem> keep, java.io.PrintWriter o) {
            List<KnowledgeRequest> requests = new ArrayList<>(edits);
            requests.addAll(Requests.forget(forget, "template", 1, seed, m, template.format(m)));
            Map<String, String> settings = new HashMap<>(Map.of("forget_loss", forgetLoss));
            if (tau != null) settings.put("tau", String.valueOf(tau));
            MethodRegistry.get("loka").apply(m, template.format(m), requests, keep, settings, seed);
            Map<Integer, Loka.Trained> memories = Loka.training(m);
            int steps = 0, conflicting = 0, mixedSteps = 0, mixed = 0;
            for (var e : memories.entrySet()) {
                Loka.Trained t = e.getValue();
                o.printf("  memory %d: %s, %d steps, %d conflicting%n", e.getKey(), t.mixed() ? "edits and forgets" : "one kind", t.steps(), t.conflicting());
                steps += t.steps();
                conflicting += t.conflicting();
                if (t.mixed()) {
                    mixed++;
                    mixedSteps += t.steps();
                }
            }
            o.printf("after LOKA's split: %d memories (%d with both kinds), %d steps: %.1f %% of the steps conflict inside a memory (%.1f %% of the multi-task memories' steps)%n",
                    memories.size(), mixed, steps, steps == 0 ? 0 : 100.0 * conflicting / steps, mixedSteps == 0 ? 0 : 100.0 * conflicting / mixedSteps);
        }

        private static void writeHistogram(ConflictAnalysis.Result r, Path out) throws java.io.IOException {
            dev.palimpsest.report.Plots.histogram(out, String.format(java.util.Locale.ROOT,
                    "cosine of editing and unlearning gradients (%.0f %% negative)", 100 * r.negativeShare()), "cosine (bin start)", "steps",
                    r.cosines());
        }
    }
}
