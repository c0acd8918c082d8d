package dev.palimpsest.world;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.bytedeco.pytorch.Tensor;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.UserError;
import dev.palimpsest.data.DataFormat;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.data.QaReader;
import dev.palimpsest.eval.Answers;
import dev.palimpsest.io.AtomicFiles;
import dev.palimpsest.io.CacheLock;
import dev.palimpsest.io.PalimpsestHome;
import dev.palimpsest.io.TempPaths;
import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.Checkpoint;
import dev.palimpsest.model.DType;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.ModelConfig;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.model.Tokenizer;
import dev.palimpsest.request.SelfImprovement;
import dev.palimpsest.train.BpeTrainer;
import dev.palimpsest.train.MasterAdamW;
import dev.palimpsest.train.QaFineTuner;
import dev.palimpsest.train.SupervisedTrainer;
import dev.palimpsest.train.Trainable;

/**
 * The models that work out of the box: small Llama-architecture models with a BPE tokenizer of their
 * own, pretrained from scratch on a built-in world (its taught facts as questions and answers, its corpus
 * as plain text, refusals for entities it never meets, its instruction lessons). Questions are asked in
 * ChatML, which the model carries as its chat template. {@code default} is trained on the default world,
 * {@code default-bios} on the bios world ({@link BiosGenerator}). Each is built once into a cache folder
 * keyed by world, world version, recipe version and seed.
 */
public final class DefaultModel {
    private DefaultModel() {}

    /** Bump when the recipe or trainer changes what gets built: cached models are keyed by it. */
    public static final int RECIPE_VERSION = 3;
    public static final String PAD = "<|endoftext|>", START = "<|im_start|>", END = "<|im_end|>";
    static final String CHAT_TEMPLATE = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
            + "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}"
            + "{{ '<|im_start|>assistant\\n' }}{% endif %}";

    /** Bump when the bios recipe changes what gets built. */
    public static final int BIOS_RECIPE_VERSION = 1;

    /** A built-in world: its generator with its sizes. */
    public interface WorldSpec {
        World generate(long seed);
    }

    /**
     * Everything that determines the built model. The first {@code corpusEpochs} of the {@code epochs} train on the corpus
     * and lessons only; the rest add the taught questions (and refusals). A world whose facts are learned from text
     * needs them stored before questions are taught, or the model memorises each taught answer as a string instead
     * of learning to extract it (measured: see README). The question phase restarts its schedule at {@code questionLr}.
     */
    public record Recipe(WorldSpec world, int vocab, int hidden, int layers, int heads, int intermediate,
            int epochs, int corpusEpochs, int batch, double lr, double questionLr, double weightDecay, DType passes) {

        /** The names {@link #with} takes: the model's shape and schedule, and the bios world's sizes. */
        public static final List<String> SETTINGS = List.of("vocab", "hidden", "layers", "heads", "intermediate", "epochs",
                "corpus_epochs", "batch", "lr", "question_lr", "weight_decay", "people", "companies", "biographies", "wordings", "mentions");

        /** This recipe with one setting changed; {@code where} names the option in errors. */
        public Recipe with(String key, String value, String where) {
            if (!SETTINGS.contains(key))
                throw new UserError(where + ": unknown setting '" + key + "'; known: " + String.join(", ", SETTINGS));
            double v;
            try {
                v = Double.parseDouble(value);
            } catch (NumberFormatException e) {
                throw new UserError(where + ": " + key + " must be a number, got '" + value + "'");
            }
            boolean rate = key.equals("lr") || key.equals("question_lr"), real = rate || key.equals("weight_decay");
            int i = (int) v;
            if (!real && (i != v || i < (key.equals("corpus_epochs") ? 0 : 1)))
                throw new UserError(where + ": " + key + " must be a " + (key.equals("corpus_epochs") ? "non-negative" : "positive")
                        + " integer, got '" + value + "'");
            if (real && !(rate ? v > 0 : v >= 0))
                throw new UserError(where + ": " + key + " must be " + (rate ? "positive" : "at least 0") + ", got '" + value + "'");
            WorldSpec w = world;
            if (List.of("people", "companies", "biographies", "wordings", "mentions").contains(key)) {
                if (!(world instanceof BiosGenerator.Sizes b))
                    throw new UserError(where + ": " + key + " is a setting of the bios world only");
                try {
                    w = new BiosGenerator.Sizes(key.equals("people") ? i : b.people(), key.equals("companies") ? i : b.companies(),
                            key.equals("biographies") ? i : b.biographies(), key.equals("wordings") ? i : b.wordings(), b.finetunePeople(), b.unseenPeople(), b.heldOutUnseen(),
                            key.equals("mentions") ? i : b.mentions());
                } catch (IllegalArgumentException e) {
                    throw new UserError(where + ": " + e.getMessage());
                }
            }
            return new Recipe(w, key.equals("vocab") ? i : vocab, key.equals("hidden") ? i : hidden, key.equals("layers") ? i : layers,
                    key.equals("heads") ? i : heads, key.equals("intermediate") ? i : intermediate, key.equals("epochs") ? i : epochs,
                    key.equals("corpus_epochs") ? i : corpusEpochs, key.equals("batch") ? i : batch, key.equals("lr") ? v : lr,
                    key.equals("question_lr") ? v : questionLr, key.equals("weight_decay") ? v : weightDecay, passes);
        }
    }

    public static final Recipe DEFAULT = new Recipe(WorldGenerator.DEFAULT, 2048, 256, 4, 4, 704, 32, 0, 32, 3e-3, 3e-3, 0.01, DType.BF16);
    /** Small enough to build inside a unit test in seconds (in fp32: speed does not matter there). */
    public static final Recipe MICRO = new Recipe(WorldGenerator.MICRO, 400, 64, 3, 2, 160, 60, 0, 16, 1e-2, 1e-2, 0.0, DType.F32);
    public static final Recipe BIOS = new Recipe(BiosGenerator.DEFAULT, 2048, 256, 4, 4, 704, 40, 24, 32, 3e-3, 3e-3, 0.1, DType.BF16);

    /** The built-in models --model names: which recipe, and the cache folder's prefix (with the versions it is keyed by). */
    public enum BuiltIn {
        DEFAULT("default", DefaultModel.DEFAULT, "default-w" + World.VERSION + "-r" + RECIPE_VERSION),
        BIOS("default-bios", DefaultModel.BIOS, "bios-w" + BiosGenerator.VERSION + "-r" + BIOS_RECIPE_VERSION);

        public final String modelName;
        public final Recipe recipe;
        final String prefix;

        BuiltIn(String modelName, Recipe recipe, String prefix) {
            this.modelName = modelName;
            this.recipe = recipe;
            this.prefix = prefix;
        }

        /** The built-in model a --model value names, or null. */
        public static BuiltIn named(String name) {
            for (BuiltIn b : values()) if (b.modelName.equals(name)) return b;
            return null;
        }
    }

    /**
     * What a build measured: ROUGE-1 recall of greedy answers to the taught questions, to held-out paraphrases
     * (the default world teaches every form, so there it is a taught paraphrase), and to questions about facts seen
     * only in the corpus (NaN without such facts), and to the same facts' sentences cut before the answer (plain text,
     * as the corpus states them: whether the facts are stored at all, whatever a question can extract); the share of
     * answers that refuse; the share of few-shot refusal drafts accepted on entities never used in a lesson (NaN for a
     * world without lessons).
     */
    public record Report(double pretrainRouge1, double paraphraseRouge1, double extractionRouge1, double completionRouge1,
            double unseenRefusal, double heldOutRefusal, double refusalDrafts, double seconds, double finalLoss) {}


    /**
     * The folder of a built-in model named as --model names it (default, default-finetuned, default-bios,
     * default-bios-finetuned), built first if need be; null for any other name.
     */
    public static Path named(String name, PrintWriter log) throws IOException {
        BuiltIn b = BuiltIn.named(withoutFinetuned(name));
        if (b == null) return null;
        return name.endsWith(FINETUNED) ? ensureFinetuned(b, 0, log) : ensure(b, 0, log);
    }

    /** Whether --model names a built-in model (which {@link #named} would build) rather than a folder. */
    public static boolean isBuiltIn(String name) {
        return BuiltIn.named(withoutFinetuned(name)) != null;
    }

    private static final String FINETUNED = "-finetuned";

    private static String withoutFinetuned(String name) {
        return name.endsWith(FINETUNED) ? name.substring(0, name.length() - FINETUNED.length()) : name;
    }

    /** The folder of the default model for a seed: {@code model/} and {@code world/} inside it. */
    public static Path folder(long seed) {
        return folder(BuiltIn.DEFAULT, seed);
    }

    public static Path folder(BuiltIn b, long seed) {
        return PalimpsestHome.root().resolve(b.prefix + "-s" + seed);
    }

    /**
     * The default model's directory, built first if the cache does not have it. Two processes that both
     * find it missing build it once: the second waits for the first (a lock file in the cache folder).
     */
    public static Path ensure(long seed, PrintWriter log) throws IOException {
        return ensure(BuiltIn.DEFAULT, seed, log);
    }

    public static Path ensure(BuiltIn b, long seed, PrintWriter log) throws IOException {
        Path folder = folder(b, seed);
        Path model = folder.resolve("model");
        if (Files.isRegularFile(model.resolve("config.json"))) return model;
        try (CacheLock lock = CacheLock.of(folder)) {
            if (Files.isRegularFile(model.resolve("config.json"))) return model;
            log.println("palimpsest: building the " + b.modelName + " model into " + folder + " (once; about "
                    + (b == BuiltIn.BIOS ? "25" : "5") + " minutes on 2 cores)");
            build(b.recipe, seed, folder, log);
        }
        return model;
    }

    /**
     * The default model after fine-tuning on the world's fine-tuning facts (with its pretraining facts
     * replayed, so it keeps them): the "finetuned knowledge" setting. Built once, next to the default model.
     */
    public static Path ensureFinetuned(long seed, PrintWriter log) throws IOException {
        return ensureFinetuned(BuiltIn.DEFAULT, seed, log);
    }

    public static Path ensureFinetuned(BuiltIn b, long seed, PrintWriter log) throws IOException {
        Path base = ensure(b, seed, log);
        Path out = folder(b, seed).resolve("finetuned");
        if (Files.isRegularFile(out.resolve("config.json"))) return out;
        try (CacheLock lock = CacheLock.of(folder(b, seed))) {
            if (Files.isRegularFile(out.resolve("config.json"))) return out;
            finetune(seed, base, folder(b, seed).resolve("world"), out, log);
        }
        return out;
    }

    private static void finetune(long seed, Path base, Path world, Path out, PrintWriter log) throws IOException {
        log.println("palimpsest: fine-tuning the built-in model on its world's fine-tuning facts (once)");
        List<QaItem> ft = QaReader.read(world.resolve("finetune.json"), DataFormat.WORLD);
        List<QaItem> pre = QaReader.read(world.resolve("pretrain.json"), DataFormat.WORLD);
        try (LanguageModel m = LanguageModel.load(base)) {
            QaFineTuner.Result r = QaFineTuner.run(m, m.questionFormat(), ft, pre,
                    new QaFineTuner.Settings(30, 30, 16, 3e-4, 0.01, 0.95, 0, 0, 200, seed), log);
            log.printf("fine-tuned in %d epochs: ROUGE-1 recall %.3f on the fine-tuning facts%n", r.epochs(), r.rouge1());
            m.save(out);
        }
    }

    /** Generates the world, trains the tokenizer and the model, and writes {@code folder/world}, {@code folder/model}. */
    public static Report build(Recipe r, long seed, Path folder, PrintWriter log) throws IOException {
        if (r.corpusEpochs() >= r.epochs())
            throw new UserError("the recipe's corpus_epochs (" + r.corpusEpochs() + ") must be fewer than its epochs (" + r.epochs() + ")");
        long t0 = System.nanoTime();
        World world = r.world().generate(seed);
        Files.createDirectories(folder);
        // A build that died before its model was saved may have left the world: this cache folder is ours to redo.
        AtomicFiles.deleteTree(folder.resolve("world"));
        WorldExport.write(world, folder.resolve("world"));
        log.printf("world %s: %d pretraining facts, %d facts only in the corpus, %d fine-tuning facts, %d taught refusals, %d held-out unseen, %d corpus lines, %d lessons%n",
                world.name(), world.pretrain().size(), world.extraction().size(), world.finetune().size(), world.unseen().size(),
                world.unseenHeldOut().size(), world.corpus().size(), world.lessons().size());

        BpeTrainer.Result bpe = BpeTrainer.train(tokenizerText(world), r.vocab(), List.of(PAD, START, END));
        log.printf("tokenizer: byte-level BPE, %d tokens%n", bpe.vocab().size());
        Path scratch = TempPaths.scratch(folder.resolve("init"));
        Report report;
        try {
            // Few-shot lessons are long prompts; the positions cost nothing (RoPE has no learned table).
            writeSkeleton(scratch, r, bpe, seed, world.lessons().isEmpty() ? 256 : 512);
            double loss = pretrain(scratch, world, r, seed, log);
            try (LanguageModel m = LanguageModel.load(scratch)) {
                report = measure(m, world, loss, (System.nanoTime() - t0) / 1e9);
                m.save(folder.resolve("model"));
            }
        } finally {
            TempPaths.discard(scratch);
        }
        ObjectMapper om = new ObjectMapper();
        AtomicFiles.writeString(folder.resolve("build.json"), om.writerWithDefaultPrettyPrinter().writeValueAsString(report));
        log.printf("ROUGE-1 recall on pretraining questions %.3f (paraphrased questions %.3f); refusals on taught unseen entities %.3f (held-out unseen %.3f); %.0f s%n",
                report.pretrainRouge1(), report.paraphraseRouge1(), report.unseenRefusal(), report.heldOutRefusal(),
                report.seconds());
        if (!world.extraction().isEmpty())
            log.printf("ROUGE-1 recall on facts seen only in the corpus %.3f (their sentences completed: %.3f); few-shot refusal drafts accepted on those entities %.3f%n",
                    report.extractionRouge1(), report.completionRouge1(), report.refusalDrafts());
        return report;
    }

    /**
     * Trains the skeleton in {@code dir} and writes the trained weights over it in fp32. The default recipe's passes
     * run in bf16 (1.3x faster than fp32 passes with AVX-512 BF16 on 2 cores) with fp32 master weights and AdamW state, as
     * mixed-precision training does; the model is kept in the masters' fp32.
     */
    private static double pretrain(Path dir, World world, Recipe r, long seed, PrintWriter log) throws IOException {
        try (LanguageModel m = LanguageModel.load(dir, r.passes())) {
            CausalLM net = m.net();
            List<Tensor> params = Trainable.select(net, n -> true);
            try (MasterAdamW opt = MasterAdamW.over(params, r.lr(), r.weightDecay())) {
                if (r.corpusEpochs() > 0)
                    SupervisedTrainer.train(net, opt, examples(world, m, false),
                            new SupervisedTrainer.Settings(r.corpusEpochs(), r.batch(), r.lr(), r.weightDecay(), 0.05, 1.0, seed),
                            m.tokenizer().padId(), "pretraining on the corpus", probe(world, m, log, 0), null);
                double loss = SupervisedTrainer.train(net, opt, examples(world, m, true),
                        new SupervisedTrainer.Settings(r.epochs() - r.corpusEpochs(), r.batch(), r.questionLr(), r.weightDecay(), 0.05, 1.0, seed),
                        m.tokenizer().padId(), r.corpusEpochs() > 0 ? "pretraining with questions" : "pretraining",
                        probe(world, m, log, r.corpusEpochs()), null);
                Trainable.freezeAll(net);
                Map<String, Tensor> full = new LinkedHashMap<>();
                for (Map.Entry<String, Tensor> e : net.parameters().entrySet())
                    full.put(e.getKey(), opt.fullPrecision(e.getValue()).detach().toType(org.bytedeco.pytorch.global.torch.ScalarType.Float));
                Checkpoint.save(dir, full, DType.F32);
                return loss;
            }
        }
    }

    static Report measure(LanguageModel m, World world, double loss, double seconds) {
        List<String> q = new ArrayList<>(), a = new ArrayList<>(), pq = new ArrayList<>();
        for (Fact f : world.pretrain()) {
            q.add(f.question());
            pq.add(f.paraphrases().get(f.paraphrases().size() - 1));
            a.add(f.answer());
        }
        double rouge = Answers.meanRouge1Recall(Answers.greedy(m, m.questionFormat(), q, 32, 64), a);
        double para = Answers.meanRouge1Recall(Answers.greedy(m, m.questionFormat(), pq, 32, 64), a);
        double unseen = Answers.refusalRate(Answers.greedy(m, m.questionFormat(), world.unseen().stream().map(Fact::question).toList(), 32, 64));
        double held = Answers.refusalRate(Answers.greedy(m, m.questionFormat(), world.unseenHeldOut().stream().map(Fact::question).toList(), 32, 64));
        double extraction = world.extraction().isEmpty() ? Double.NaN : extraction(m, world.extraction());
        double completion = world.extraction().isEmpty() ? Double.NaN : completion(m, world.extraction());
        double drafts = world.lessons().isEmpty() || world.extraction().isEmpty() ? Double.NaN : refusalDrafts(m, world.extraction());
        return new Report(rouge, para, extraction, completion, unseen, held, drafts, seconds, loss);
    }

    /** Mean ROUGE-1 recall of greedy answers to the facts' questions. */
    static double extraction(LanguageModel m, List<Fact> facts) {
        return Answers.meanRouge1Recall(Answers.greedy(m, m.questionFormat(), facts.stream().map(Fact::question).toList(), 32, 64),
                facts.stream().map(Fact::answer).toList());
    }

    /** Mean ROUGE-1 recall of the answer in greedy continuations of each fact's sentence cut before its answer. */
    static double completion(LanguageModel m, List<Fact> facts) {
        QuestionFormat plain = new QuestionFormat(null, PAD + "{question}"); // corpus lines follow an end-of-text token
        List<String> prefixes = new ArrayList<>();
        for (Fact f : facts) prefixes.add(f.sentence().substring(0, f.sentence().indexOf(f.answer())).strip());
        return Answers.meanRouge1Recall(Answers.greedy(m, plain, prefixes, 16, 64), facts.stream().map(Fact::answer).toList());
    }

    /** The share of few-shot refusal drafts accepted, over one question per entity (its relations taken in turn). */
    static double refusalDrafts(LanguageModel m, List<Fact> facts) {
        Map<String, List<Fact>> byEntity = new LinkedHashMap<>();
        for (Fact f : facts) byEntity.computeIfAbsent(f.entity(), k -> new ArrayList<>()).add(f);
        List<String> q = new ArrayList<>(), a = new ArrayList<>();
        int k = 0;
        for (List<Fact> own : byEntity.values()) {
            Fact f = own.get(k++ % own.size());
            q.add(f.question());
            a.add(f.answer());
        }
        List<SelfImprovement.Draft> drafts = SelfImprovement.drafts(m, m.questionFormat(), q, a);
        return drafts.stream().filter(SelfImprovement.Draft::accepted).count() / (double) drafts.size();
    }

    /** For a world with facts seen only in its corpus: every few epochs, extraction on a sample, to watch it emerge. */
    private static SupervisedTrainer.EpochEnd probe(World world, LanguageModel m, PrintWriter log, int epochsBefore) {
        if (world.extraction().isEmpty()) return null;
        List<Fact> sample = sample(world.extraction(), 60), taught = sample(world.pretrain(), 60);
        return (phaseEpoch, loss) -> {
            int epoch = epochsBefore + phaseEpoch;
            if (epoch % 4 != 0) return SupervisedTrainer.Verdict.GO_ON;
            double ext = extraction(m, sample), tq = extraction(m, taught), done = completion(m, sample),
                    drafts = world.lessons().isEmpty() ? Double.NaN : refusalDrafts(m, sample);
            log.printf("epoch %d: loss %.3f, ROUGE-1 on taught questions %.3f, on facts only in the corpus %.3f (their sentences completed %.3f; "
                    + "refusal drafts accepted %.3f; samples of %d)%n", epoch, loss, tq, ext, done, drafts, sample.size());
            log.flush();
            return new SupervisedTrainer.Verdict(false, String.format("extraction %.2f", ext));
        };
    }

    /**
     * {@code n} facts drawn at random (fixed seed). Not every n-th: a world lists each entity's relations in turn, so
     * a stride that divides their count would sample one relation only.
     */
    private static List<Fact> sample(List<Fact> facts, int n) {
        List<Fact> shuffled = new ArrayList<>(facts);
        Collections.shuffle(shuffled, new Random(7));
        return shuffled.subList(0, Math.min(n, shuffled.size()));
    }

    /**
     * The training set. Facts (pretraining facts, and refusals for the taught unseen entities) are
     * question → answer pairs in the chat format, under each taught question form, so that the
     * knowledge is reachable by rephrased questions (which the rephrase attacks of unlearning probe);
     * without {@code questions}, none. Lessons are prompt → answer pairs in the chat format. The corpus
     * lines are plain text after an end-of-text token.
     */
    static List<SupervisedTrainer.Example> examples(World world, LanguageModel m, boolean questions) {
        Tokenizer tok = m.tokenizer();
        long pad = tok.specialId(PAD);
        QuestionFormat format = m.questionFormat();
        List<SupervisedTrainer.Example> out = new ArrayList<>();
        List<Fact> taught = new ArrayList<>();
        if (questions) {
            taught.addAll(world.pretrain());
            taught.addAll(world.unseen());
        }
        for (Fact f : taught) {
            long[] answer = format.answerIds(tok, f.answer()); // ends with <|im_end|>, the first EOS
            for (String q : world.taughtForms(f))
                out.add(new SupervisedTrainer.Example(tok.encodePrompt(format.prompt(q)), answer));
        }
        for (World.Lesson l : world.lessons())
            out.add(new SupervisedTrainer.Example(tok.encodePrompt(format.prompt(l.prompt())), format.answerIds(tok, l.answer())));
        for (String line : world.corpus()) out.add(new SupervisedTrainer.Example(new long[] {pad}, append(tok.encode(line), pad)));
        return out;
    }

    /** Text the tokenizer learns from: the corpus and every question and answer of every split. */
    static List<String> tokenizerText(World world) {
        List<String> lines = new ArrayList<>(world.corpus());
        for (Fact f : world.all()) {
            lines.add(f.question());
            lines.addAll(f.paraphrases());
            lines.add(f.answer());
            lines.add(f.sentence());
        }
        for (World.Lesson l : world.lessons()) {
            lines.add(l.prompt());
            lines.add(l.answer());
        }
        lines.add("user\nassistant\n");
        return lines;
    }

    private static void writeSkeleton(Path dir, Recipe r, BpeTrainer.Result bpe, long seed, int context) throws IOException {
        ObjectMapper om = new ObjectMapper();
        ObjectNode c = om.createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("model_type", "llama");
        c.put("vocab_size", bpe.vocab().size());
        c.put("hidden_size", r.hidden());
        c.put("intermediate_size", r.intermediate());
        c.put("num_hidden_layers", r.layers());
        c.put("num_attention_heads", r.heads());
        c.put("num_key_value_heads", r.heads());
        c.put("max_position_embeddings", context);
        c.put("rms_norm_eps", 1e-5);
        c.put("rope_theta", 10000.0);
        c.put("tie_word_embeddings", true);
        c.put("hidden_act", "silu");
        c.put("bos_token_id", bpe.vocab().get(PAD));
        c.put("eos_token_id", bpe.vocab().get(END));
        c.put("pad_token_id", bpe.vocab().get(PAD));
        c.put("torch_dtype", "float32");
        c.put("palimpsest_world_version", World.VERSION);
        c.put("palimpsest_recipe_version", RECIPE_VERSION);
        c.put("palimpsest_seed", seed);
        Files.writeString(dir.resolve("config.json"), om.writerWithDefaultPrettyPrinter().writeValueAsString(c));
        Files.writeString(dir.resolve("tokenizer.json"), bpe.toJson());
        ObjectNode tc = om.createObjectNode();
        tc.put("add_bos_token", false);
        tc.put("add_eos_token", false);
        tc.putNull("bos_token");
        tc.put("eos_token", END);
        tc.put("pad_token", PAD);
        tc.put("chat_template", CHAT_TEMPLATE);
        tc.put("model_max_length", context);
        tc.put("tokenizer_class", "PreTrainedTokenizerFast");
        Files.writeString(dir.resolve("tokenizer_config.json"), om.writerWithDefaultPrettyPrinter().writeValueAsString(tc));
        ObjectNode gc = om.createObjectNode();
        // Answers end with <|im_end|>, corpus lines with <|endoftext|>: generation stops at either.
        gc.putArray("eos_token_id").add(bpe.vocab().get(END)).add(bpe.vocab().get(PAD));
        gc.put("pad_token_id", bpe.vocab().get(PAD));
        Files.writeString(dir.resolve("generation_config.json"), om.writerWithDefaultPrettyPrinter().writeValueAsString(gc));
        ModelConfig config = ModelConfig.parse(c, dir.resolve("config.json"));
        CausalLM fresh = CausalLM.random(config, seed, 0.02);
        Map<String, Tensor> weights = new LinkedHashMap<>(fresh.parameters());
        Checkpoint.save(dir, weights, DType.F32);
    }

    private static long[] append(long[] ids, long last) {
        long[] out = java.util.Arrays.copyOf(ids, ids.length + 1);
        out[ids.length] = last;
        return out;
    }
}
