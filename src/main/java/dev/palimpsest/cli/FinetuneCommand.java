package dev.palimpsest.cli;

import java.nio.file.Path;
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
import dev.palimpsest.io.OutputFolder;
import dev.palimpsest.model.DType;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.train.QaFineTuner;

@Command(name = "finetune", mixinStandardHelpOptions = true,
        description = {"Teach a model a question-answer dataset until the ROUGE-1 recall of its greedy answers reaches the target",
                "(the finetune-then-unlearn set-up of TOFU and PISTOL). Writes the model to --out, atomically."})
final class FinetuneCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption model;

    @Option(names = "--data", required = true, paramLabel = "FILE", description = "QA file (JSON array or JSON Lines).")
    Path data;

    @Option(names = "--format", required = true, description = "tofu, pistol or world.")
    String format;

    @Option(names = "--replay", paramLabel = "FILE",
            description = "QA file (same --format) the model should keep answering: trained alongside, so fine-tuning does not make it forget them.")
    Path replay;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "A new (or empty) folder for the fine-tuned model; see --overwrite.")
    Path out;

    @Option(names = "--epochs", defaultValue = "30",
            description = "Epochs of one warm-up + cosine cycle (default ${DEFAULT-VALUE}). Below the target at its end, another cycle follows "
                    + "while the last one still raised ROUGE-1 or lowered the loss by a tenth (with the rate doubled, up to 4 times, when it gained under 0.1 far from the target).")
    int epochs;

    @Option(names = "--max-epochs", defaultValue = "150", description = "Epochs over all cycles at most (default ${DEFAULT-VALUE}).")
    int maxEpochs;

    @Option(names = "--accept-below-target",
            description = "Write the model even when it ends below --target-rouge (otherwise that is an error, exit 2, and nothing is written: "
                    + "an unlearning comparison on a model that never learned the facts measures nothing).")
    boolean acceptBelowTarget;

    @Option(names = "--lr", description = "Peak learning rate (default: 3e-4 under 50M parameters, else 1e-5, or 1e-4 with LoRA).")
    Double lr;

    @Option(names = "--batch-size", defaultValue = "16", description = "Default ${DEFAULT-VALUE}.")
    int batch;

    @Option(names = "--weight-decay", defaultValue = "0.01", description = "AdamW weight decay (default ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--target-rouge", defaultValue = "0.95", description = "Stop once ROUGE-1 recall reaches this (default ${DEFAULT-VALUE}).")
    double target;

    @Option(names = "--eval-sample", defaultValue = "200", description = "Questions checked after each epoch (default ${DEFAULT-VALUE}).")
    int evalSample;

    @Option(names = "--lora-rank", defaultValue = "0", description = "Train LoRA adapters of this rank on every linear layer and merge them (0: all weights).")
    int loraRank;

    @Option(names = "--lora-alpha", defaultValue = "32", description = "LoRA alpha (default ${DEFAULT-VALUE}).")
    double loraAlpha;

    @Mixin
    TemplateOption template;

    @Option(names = "--seed", defaultValue = "0")
    long seed;

    @Mixin
    OverwriteOption overwrite;

    @Override
    public Integer call() throws Exception {
        if (epochs < 1 || batch < 1 || evalSample < 1) throw new UserError("--epochs, --batch-size and --eval-sample must be at least 1");
        if (maxEpochs < epochs) throw new UserError("--max-epochs (" + maxEpochs + ") must be at least --epochs (" + epochs + ")");
        if (lr != null && (!(lr > 0) || !Double.isFinite(lr))) throw new UserError("--lr must be a positive number, got " + lr);
        if (!(weightDecay >= 0) || !Double.isFinite(weightDecay)) throw new UserError("--weight-decay must be at least 0, got " + weightDecay);
        if (!(target > 0 && target <= 1)) throw new UserError("--target-rouge must be in (0, 1], got " + target);
        if (loraRank < 0) throw new UserError("--lora-rank must be at least 0, got " + loraRank);
        if (!(loraAlpha > 0) || !Double.isFinite(loraAlpha)) throw new UserError("--lora-alpha must be a positive number, got " + loraAlpha);
        DataFormat fmt = DataFormat.parse(format);
        List<QaItem> items = QaReader.read(data, fmt);
        List<QaItem> rehearse = replay == null ? List.of() : QaReader.read(replay, fmt);
        var out = spec.commandLine().getOut();
        try (OutputFolder folder = overwrite.folder(this.out, model.dir, data, replay); LanguageModel m = model.loadMerged()) {
            DType saveAs = model.saveType(m);
            folder.requireSpace(m.savedBytes(saveAs));
            double rate = lr != null ? lr : QaFineTuner.defaultLr(m, loraRank);
            QaFineTuner.Result r = QaFineTuner.run(m, template.format(m), items, rehearse,
                    new QaFineTuner.Settings(epochs, maxEpochs, batch, rate, weightDecay, target, loraRank, loraAlpha, evalSample, seed),
                    spec.commandLine().getErr());
            String numbers = String.format("ROUGE-1 recall %.3f after %d epochs in %d cycle%s (peak lr %.2g at the end, %.2g asked), target %.2f",
                    r.rouge1(), r.epochs(), r.cycles(), r.cycles() == 1 ? "" : "s", r.lr(), rate, target);
            if (!r.reached() && !acceptBelowTarget)
                throw new UserError(data + ": the model did not learn the data: " + numbers + (r.epochs() < maxEpochs ? "; it had stopped improving" : "")
                        + ". Nothing written; try a higher --lr or more --max-epochs, or keep it with --accept-below-target");
            folder.fill(dir -> m.writeInto(dir, saveAs));
            Map<String, Object> rec = new LinkedHashMap<>();
            rec.put("model", model.dir.toString());
            rec.put("data", data.toString());
            rec.put("format", format);
            rec.put("items", items.size());
            rec.put("replay", replay == null ? null : replay.toString());
            rec.put("replay_items", rehearse.size());
            rec.put("lr", rate);
            rec.put("lora_rank", loraRank);
            rec.put("epochs", r.epochs());
            rec.put("cycles", r.cycles());
            rec.put("final_peak_lr", r.lr());
            rec.put("reached_target", r.reached());
            rec.put("rouge1_recall", r.rouge1());
            rec.put("loss", r.loss());
            rec.put("seconds", r.seconds());
            folder.writeJson("palimpsest_finetune.json", rec);
            folder.publish("model");
            out.printf("%s: %d items, %s, %.0f s%n", this.out, items.size(), numbers, r.seconds());
            if (!r.reached())
                spec.commandLine().getErr().printf("palimpsest: warning: kept below the target (--accept-below-target): %s%n", numbers);
        }
        return 0;
    }
}
