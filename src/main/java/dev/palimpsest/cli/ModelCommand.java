package dev.palimpsest.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import dev.palimpsest.world.DefaultModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "model", mixinStandardHelpOptions = true, description = "The built-in default model.",
        subcommands = {ModelCommand.BuildDefault.class})
final class ModelCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "build-default", mixinStandardHelpOptions = true,
            description = {"Build the default model (world, tokenizer, pretraining) into the cache, once, and print its path.",
                    "The cache is $PALIMPSEST_HOME or ~/.cache/palimpsest; --model default means this model."})
    static final class BuildDefault implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--seed", defaultValue = "0", description = "Seed of world and training (default ${DEFAULT-VALUE}).")
        long seed;

        @Mixin
        DeviceOption device;

        @Override
        public Integer call() throws Exception {
            device.apply();
            PrintWriter err = spec.commandLine().getErr();
            Path dir = DefaultModel.ensure(seed, err);
            spec.commandLine().getOut().println(dir);
            return 0;
        }
    }
}
