package dev.palimpsest.cli;

import java.nio.file.Path;

import dev.palimpsest.model.LanguageModel;
import picocli.CommandLine.Option;

/** The {@code --model DIR} option shared by commands that load a model. */
final class ModelOption {
    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "A Hugging Face model directory (config.json, *.safetensors, tokenizer.json).")
    Path dir;

    LanguageModel load() {
        return LanguageModel.load(dir);
    }
}
