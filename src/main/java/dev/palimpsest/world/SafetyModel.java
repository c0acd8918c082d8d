package dev.palimpsest.world;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import dev.palimpsest.data.DataFormat;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.data.QaReader;
import dev.palimpsest.io.CacheLock;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.train.QaFineTuner;

/**
 * The safety setting's model: a built-in model that has also learned the answers of its world's safety set (the
 * unsafe answer to each harmful request, the safe answer to each benign one, in both wordings), as a deployed model
 * that picked up harmful answers in training has. Fine-tuned once per built-in model and seed into the cache, with
 * the pretraining facts replayed so they stay known.
 */
public final class SafetyModel {
    private SafetyModel() {}

    /** The world's safety set, as {@code world build} writes it (regenerated from the seed: the world is deterministic). */
    public static List<SafetySet.Request> requests(DefaultModel.BuiltIn b, long seed) {
        World world = b.recipe.world().generate(seed);
        int n = WorldExport.safetyRequests(world);
        return SafetySet.generate(world, n, n, world.seed());
    }

    /** The harmful requests as QA items: the unsafe answer to forget, the held-out rephrasing, the safe answer as the first perturbed one. */
    public static List<QaItem> harmful(List<SafetySet.Request> requests) {
        List<QaItem> out = new ArrayList<>();
        for (int i = 0; i < requests.size(); i++) {
            SafetySet.Request r = requests.get(i);
            if (r.harmful()) out.add(new QaItem("harmful-" + (i + 1), r.prompt(), r.unsafe(), List.of(r.rephrased()), null, List.of(r.safe()), null));
        }
        return out;
    }

    /** The benign requests as QA items with their safe answers and held-out rephrasings. */
    public static List<QaItem> benign(List<SafetySet.Request> requests) {
        List<QaItem> out = new ArrayList<>();
        for (int i = 0; i < requests.size(); i++) {
            SafetySet.Request r = requests.get(i);
            if (!r.harmful()) out.add(new QaItem("benign-" + (i + 1), r.prompt(), r.safe(), List.of(r.rephrased()), null, List.of(), null));
        }
        return out;
    }

    /** The safety model's folder, fine-tuned first if the cache does not have it. */
    public static Path ensure(DefaultModel.BuiltIn b, long seed, PrintWriter log) throws IOException {
        Path base = DefaultModel.ensure(b, seed, log);
        Path out = DefaultModel.folder(b, seed).resolve("safety");
        if (Files.isRegularFile(out.resolve("config.json"))) return out;
        try (CacheLock lock = CacheLock.of(DefaultModel.folder(b, seed))) {
            if (Files.isRegularFile(out.resolve("config.json"))) return out;
            log.println("palimpsest: teaching the built-in model its world's harmful and benign answers (once)");
            List<SafetySet.Request> requests = requests(b, seed);
            List<QaItem> taught = new ArrayList<>();
            for (QaItem q : harmful(requests)) taught.addAll(List.of(q, q.rephrased()));
            for (QaItem q : benign(requests)) taught.addAll(List.of(q, q.rephrased()));
            List<QaItem> pre = QaReader.read(DefaultModel.folder(b, seed).resolve("world").resolve("pretrain.json"), DataFormat.WORLD);
            try (LanguageModel m = LanguageModel.load(base)) {
                QaFineTuner.Result r = QaFineTuner.run(m, m.questionFormat(), taught, pre,
                        new QaFineTuner.Settings(30, 90, 16, 3e-4, 0.01, 0.95, 0, 0, 200, seed), log);
                log.printf("taught in %d epochs: ROUGE-1 recall %.3f on the safety set's answers%n", r.epochs(), r.rouge1());
                m.save(out);
            }
        }
        return out;
    }
}
