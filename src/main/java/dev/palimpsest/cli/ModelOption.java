package dev.palimpsest.cli;

import java.nio.file.Path;

import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.world.DefaultModel;
import picocli.CommandLine.Option;

/** The {@code --model DIR} option shared by commands that load a model. */
final class ModelOption {
    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "A Hugging Face model directory (config.json, *.safetensors, tokenizer.json), or 'default' for the built-in model (built on first use).")
    Path dir;

    LanguageModel load() throws java.io.IOException {
        return loadDir(dir);
    }

    /** Loads a model directory, or the built-in model for 'default' (as --model, --base-model and --reference-model say). */
    static LanguageModel loadDir(Path dir) throws java.io.IOException {
        Path d = dir.toString().equals("default")
                ? DefaultModel.ensure(0, new java.io.PrintWriter(System.err, true)) : dir;
        return LanguageModel.load(d);
    }
}
