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
import dev.palimpsest.eval.ModelUtility;
import dev.palimpsest.eval.PerItem;
import dev.palimpsest.io.Json;
import dev.palimpsest.model.LanguageModel;

@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Measure a model on a dataset with the papers' metrics and print a table (or one JSON object with --json).",
                "QA formats: ROUGE-1/ROUGE-L recall of greedy answers, probability (product of the answer's token probabilities, and per token),",
                "MRR and top-m hit ratio of the answer's tokens, truth ratio, refusal rate; TOFU's model utility with --real-authors and --world-facts.",
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

    @Option(names = "--max-new-tokens", description = "Greedy answer budget (default 200 for tofu, as open-unlearning generates; 32 otherwise).")
    Integer maxNewTokens;

    @Option(names = "--ranks", defaultValue = "greedy",
            description = "Where MRR and the hit ratio rank the answer's tokens: greedy (at each step of the model's own greedy answer, as PISTOL's evaluation code and the editing-as-unlearning paper) or teacher-forced (after the answer's own earlier tokens). Default ${DEFAULT-VALUE}.")
    String ranks;

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

    @Option(names = "--reference-truth-ratios", paramLabel = "FILE",
            description = "The reference model's truth ratios on the same forget set, saved earlier: a --per-item file of its run, or open-unlearning's evaluation JSON (forget_truth_ratio.value_by_index). Adds forget_quality without loading that model.")
    Path referenceTruthRatios;

    @Option(names = "--real-authors", paramLabel = "FILE", description = "TOFU's real-authors set (with perturbed answers): with --world-facts, adds TOFU's model utility (the harmonic mean of nine numbers; --data is the retain set).")
    Path realAuthors;

    @Option(names = "--world-facts", paramLabel = "FILE", description = "TOFU's world-facts set (with perturbed answers), for --real-authors.")
    Path worldFacts;

    @Option(names = "--per-item", paramLabel = "FILE.jsonl", description = "Also write every item's question, generation, reference and metric values, one JSON object per line.")
    Path perItem;

    @Mixin
    OverwriteOption overwrite;

    @Option(names = "--json", description = "Print one JSON object with the means.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        DataFormat fmt = DataFormat.parse(format);
        int budget = maxNewTokens != null ? maxNewTokens : fmt == DataFormat.TOFU ? 200 : 32;
        if (budget < 1 || batch < 1 || hitTop < 1 || forget < 1)
            throw new UserError("--max-new-tokens, --batch-size, --hit-top and --forget must be at least 1");
        if ((realAuthors == null) != (worldFacts == null)) throw new UserError("--real-authors and --world-facts go together");
        if (referenceModel != null && referenceTruthRatios != null)
            throw new UserError("--reference-model and --reference-truth-ratios are two ways to the same number: give one");
        if (fmt.isEdit() && (realAuthors != null || referenceTruthRatios != null || perItem != null))
            throw new UserError("--real-authors, --world-facts, --reference-truth-ratios and --per-item apply to question-answer formats, not " + format);
        Path perItemFile = perItem == null ? null : overwrite.file(perItem, model.dir, data, realAuthors, worldFacts, referenceTruthRatios);
        double[] savedReference = referenceTruthRatios == null ? null : PerItem.referenceTruthRatios(referenceTruthRatios);
        var out = spec.commandLine().getOut();
        Evaluator.Options opts = new Evaluator.Options(budget, batch, hitTop, Evaluator.Ranks.parse(ranks));
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
                    summary.put("ranks", opts.ranks().label());
                    summary.put("max_new_tokens", budget);
                    if (referenceModel != null) summary.put("forget_quality", forgetQuality(result, items, opts));
                    if (savedReference != null) summary.put("forget_quality", ForgetQuality.pValue(mine(result), savedReference));
                    if (realAuthors != null) {
                        Evaluator.QaResult ra = Evaluator.qa(m, template.format(m), QaReader.read(realAuthors, fmt), opts);
                        Evaluator.QaResult wf = Evaluator.qa(m, template.format(m), QaReader.read(worldFacts, fmt), opts);
                        summary.putAll(ModelUtility.tofu(result, ra, wf));
                    }
                    if (perItemFile != null) PerItem.write(perItemFile, result);
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
        double[] mine = mine(result);
        try (LanguageModel ref = model.load(referenceModel)) {
            double[] theirs = Evaluator.qa(ref, template.format(ref), items, opts).truthRatios();
            return ForgetQuality.pValue(mine, theirs);
        }
    }

    private double[] mine(Evaluator.QaResult result) {
        double[] mine = result.truthRatios();
        if (mine.length < 2) throw new UserError(data + ": forget quality needs at least two items with perturbed answers");
        return mine;
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
