package dev.palimpsest.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import dev.palimpsest.UserError;
import dev.palimpsest.data.DataFormat;
import dev.palimpsest.data.EditItem;
import dev.palimpsest.data.EditReader;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.data.QaReader;
import dev.palimpsest.data.Splits;
import dev.palimpsest.eval.Evaluator;
import dev.palimpsest.eval.ForgetQuality;
import dev.palimpsest.io.Json;
import dev.palimpsest.model.LanguageModel;

@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Measure a model on a dataset with the papers' metrics and print a table (or one JSON object with --json).",
                "QA formats: ROUGE-1/ROUGE-L recall of greedy answers, probability, MRR, top-m hit ratio, truth ratio, refusal rate.",
                "Edit formats (zsre, counterfact): reliability, generalization, and locality against --base-model."})
final class EvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption model;

    @Option(names = "--data", required = true, paramLabel = "FILE")
    Path data;

    @Option(names = "--format", required = true, description = "tofu, pistol, world, pku, zsre or counterfact.")
    String format;

    @Option(names = "--split", defaultValue = "all",
            description = "all, forget, retain (a seeded choice of --forget items), rephrased, forget-rephrased, or edge:NAME[,NAME] (PISTOL). Default ${DEFAULT-VALUE}.")
    String split;

    @Option(names = "--forget", defaultValue = "40", description = "Forget-set size for --split forget/retain (default ${DEFAULT-VALUE}).")
    int forget;

    @Option(names = "--seed", defaultValue = "0")
    long seed;

    @Option(names = "--max-new-tokens", defaultValue = "32", description = "Greedy answer budget (default ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--batch-size", defaultValue = "32")
    int batch;

    @Option(names = "--hit-top", defaultValue = "100", description = "m of the top-m hit ratio (default ${DEFAULT-VALUE}).")
    int hitTop;

    @Mixin
    TemplateOption template;

    @Option(names = "--base-model", paramLabel = "DIR", description = "Reference model ('default': the built-in one): locality (edit formats), perplexity of the answers (QA formats).")
    Path baseModel;

    @Option(names = "--reference-model", paramLabel = "DIR",
            description = "Model never trained on this data (TOFU's retain model): adds forget_quality, the KS-test p-value between the two models' truth ratios.")
    Path referenceModel;

    @Option(names = "--json", description = "Print one JSON object with the means.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (maxNewTokens < 1 || batch < 1 || hitTop < 1 || forget < 1)
            throw new UserError("--max-new-tokens, --batch-size, --hit-top and --forget must be at least 1");
        DataFormat fmt = DataFormat.parse(format);
        var out = spec.commandLine().getOut();
        Evaluator.Options opts = new Evaluator.Options(maxNewTokens, batch, hitTop);
        Map<String, Object> summary;
        try (LanguageModel m = model.load()) {
            if (fmt.isEdit()) {
                List<EditItem> items = select(EditReader.read(data, fmt));
                try (LanguageModel base = baseModel == null ? null : model.load(baseModel)) {
                    summary = Evaluator.edits(m, base, template.format(m), items, opts).summary();
                }
            } else {
                List<QaItem> items = selectQa(QaReader.read(data, fmt));
                try (LanguageModel base = baseModel == null ? null : model.load(baseModel)) {
                    Evaluator.QaResult result = Evaluator.qa(m, base, template.format(m), items, opts);
                    summary = result.summary();
                    if (referenceModel != null) summary.put("forget_quality", forgetQuality(result, items, opts));
                }
            }
        }
        if (json) {
            out.println(Json.MAPPER.writeValueAsString(summary));
        } else {
            out.printf("%s (%s, split %s)%n", data, fmt.name().toLowerCase(), split);
            summary.forEach((k, v) -> out.printf("  %-22s %s%n", k, v instanceof Double d ? String.format("%.4f", d) : v));
        }
        return 0;
    }

    private double forgetQuality(Evaluator.QaResult result, List<QaItem> items, Evaluator.Options opts) throws java.io.IOException {
        double[] mine = result.truthRatios();
        if (mine.length < 2) throw new UserError(data + ": forget quality needs at least two items with perturbed answers");
        try (LanguageModel ref = model.load(referenceModel)) {
            double[] theirs = Evaluator.qa(ref, template.format(ref), items, opts).truthRatios();
            return ForgetQuality.pValue(mine, theirs);
        }
    }

    private List<QaItem> selectQa(List<QaItem> items) {
        if (split.startsWith("edge:")) return Splits.byEdges(items, Set.of(split.substring(5).split(","))).forget();
        return switch (split) {
            case "rephrased" -> nonEmpty(Splits.rephrased(items));
            case "forget-rephrased" -> nonEmpty(Splits.rephrased(Splits.forgetN(items, forget, seed).forget()));
            default -> select(items);
        };
    }

    private <T> List<T> select(List<T> items) {
        return switch (split) {
            case "all" -> items;
            case "forget" -> Splits.forgetN(items, forget, seed).forget();
            case "retain" -> Splits.forgetN(items, forget, seed).retain();
            default -> throw new UserError("--split '" + split + "' does not apply here (all, forget, retain, rephrased, forget-rephrased, edge:NAME)");
        };
    }

    private static List<QaItem> nonEmpty(List<QaItem> items) {
        if (items.isEmpty()) throw new UserError("no item has a paraphrased question");
        return items;
    }
}
