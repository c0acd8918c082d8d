package dev.palimpsest.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import dev.palimpsest.io.OutputFolder;
import dev.palimpsest.world.BiosGenerator;
import dev.palimpsest.world.World;
import dev.palimpsest.world.WorldExport;
import dev.palimpsest.world.WorldGenerator;

@Command(name = "world", mixinStandardHelpOptions = true, description = "The built-in synthetic world.",
        subcommands = {WorldCommand.Build.class})
final class WorldCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "build", mixinStandardHelpOptions = true,
            description = {"Generate the world and write it in the benchmarks' formats:",
                    "pretrain.json, finetune.json, unseen.json, unseen_heldout.json (TOFU style), world_facts.json (TOFU world facts),",
                    "pistol.json (PISTOL style, the fine-tuning contracts), corpus.txt, world.json."})
    static final class Build implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--out", required = true, paramLabel = "DIR", description = "A new or empty output folder; see --overwrite.")
        Path out;

        @Mixin
        OverwriteOption overwrite;

        @Option(names = "--seed", defaultValue = "0", description = "World seed (default ${DEFAULT-VALUE}).")
        long seed;

        @Option(names = "--world", defaultValue = "default",
                description = "default, or bios (biographies; adds extraction.json, facts only in the biographies, and lessons.json). Default ${DEFAULT-VALUE}.")
        String world;

        @Override
        public Integer call() throws Exception {
            try (OutputFolder folder = overwrite.folder(out, null)) {
                World w = switch (world) {
                    case "default" -> WorldGenerator.generate(seed, WorldGenerator.DEFAULT);
                    case "bios" -> BiosGenerator.generate(seed, BiosGenerator.DEFAULT);
                    default -> throw new dev.palimpsest.UserError("--world must be default or bios, got '" + world + "'");
                };
                folder.fill(d -> WorldExport.writeInto(w, d));
                folder.publish("world");
                report(w);
            }
            return 0;
        }

        private void report(World w) {
            spec.commandLine().getOut().printf("%s: %d pretraining, %d only in the corpus, %d fine-tuning, %d unseen (+%d held out) facts, %d corpus lines, %d lessons%n",
                    out, w.pretrain().size(), w.extraction().size(), w.finetune().size(), w.unseen().size(), w.unseenHeldOut().size(),
                    w.corpus().size(), w.lessons().size());
        }
    }
}
