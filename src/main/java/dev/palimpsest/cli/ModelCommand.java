package dev.palimpsest.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import dev.palimpsest.UserError;
import dev.palimpsest.world.DefaultModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "model", mixinStandardHelpOptions = true, description = "The built-in models.",
        subcommands = {ModelCommand.BuildDefault.class})
final class ModelCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "build-default", mixinStandardHelpOptions = true,
            description = {"Build a built-in model (world, tokenizer, pretraining) into the cache, once, print what the build measured and its path.",
                    "The cache is $PALIMPSEST_HOME or ~/.cache/palimpsest; --model default (or default-bios) means this model.",
                    "With --set (the recipe's shape, schedule and the bios world's sizes) the model is built into --out instead."})
    static final class BuildDefault implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--seed", defaultValue = "0", description = "Seed of world and training (default ${DEFAULT-VALUE}).")
        long seed;

        @Option(names = "--world", defaultValue = "default",
                description = "default (the quick world: facts taught as questions) or bios (biographies; questions taught on half the entities). Default ${DEFAULT-VALUE}.")
        String world;

        @Option(names = "--set", paramLabel = "KEY=VALUE", split = ",",
                description = "Change the recipe: vocab, hidden, layers, heads, intermediate, epochs, corpus_epochs, batch, lr, question_lr (the question phase's), weight_decay; for the bios world also people, companies, biographies, wordings (1-12), mentions. Needs --out.")
        List<String> set;

        @Option(names = "--out", paramLabel = "DIR", description = "Build into this new folder (model/, world/, build.json) instead of the cache.")
        Path out;

        @Mixin
        DeviceOption device;

        @Override
        public Integer call() throws Exception {
            device.apply();
            PrintWriter err = spec.commandLine().getErr();
            DefaultModel.BuiltIn b = switch (world) {
                case "default" -> DefaultModel.BuiltIn.DEFAULT;
                case "bios" -> DefaultModel.BuiltIn.BIOS;
                default -> throw new UserError("--world must be default or bios, got '" + world + "'");
            };
            if (set != null && out == null)
                throw new UserError("--set builds a changed recipe, which needs --out DIR (the cache holds the standard recipes only)");
            Path dir;
            if (out != null) {
                if (Files.exists(out) && (!Files.isDirectory(out) || !isEmpty(out)))
                    throw new UserError(out + ": exists and is not an empty folder");
                DefaultModel.Recipe r = b.recipe;
                for (String kv : set == null ? List.<String>of() : set) {
                    int eq = kv.indexOf('=');
                    if (eq < 1) throw new UserError("--set " + kv + ": expected KEY=VALUE");
                    r = r.with(kv.substring(0, eq).strip(), kv.substring(eq + 1).strip(), "--set " + kv);
                }
                DefaultModel.build(r, seed, out, err);
                dir = out.resolve("model");
            } else {
                dir = DefaultModel.ensure(b, seed, err);
                Path report = dir.getParent().resolve("build.json");
                if (Files.isRegularFile(report)) err.println("measured when built: " + Files.readString(report).replaceAll("\\s+", " "));
            }
            spec.commandLine().getOut().println(dir);
            return 0;
        }

        private static boolean isEmpty(Path dir) throws java.io.IOException {
            try (var entries = Files.list(dir)) {
                return entries.findAny().isEmpty();
            }
        }
    }
}
