package dev.palimpsest.method.locate;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import dev.palimpsest.UserError;
import dev.palimpsest.method.Setting;
import dev.palimpsest.model.LanguageModel;

/**
 * The text ROME, MEMIT and AlphaEdit read their keys' second moment from (the papers use Wikipedia). A built-in
 * world's model uses its world's pretraining text, which sits beside it ({@code world/corpus.txt}); any other model
 * needs {@code corpus=FILE}: its keys' statistics over a toy world's fictional sentences would mis-state which
 * directions matter to it, silently.
 */
public record StatisticsCorpus(String name, List<String> lines) {
    /** The {@code corpus} setting of the methods that read one. */
    static final Setting SETTING = Setting.text("corpus").rule("a built-in world's model: its pretraining text; any other model: required",
            "a text file for the keys' second moment (one passage per line)");

    /** Where a built-in world keeps its pretraining text, relative to the folder of its models. */
    static final String WORLD_CORPUS = "world/corpus.txt";

    public static StatisticsCorpus of(String method, LanguageModel m, String corpusFile) {
        Path file;
        String name;
        if (corpusFile != null) {
            file = Path.of(corpusFile);
            name = corpusFile;
        } else {
            Path beside = m.source() == null || m.source().toAbsolutePath().getParent() == null ? null
                    : m.source().toAbsolutePath().getParent().resolve(WORLD_CORPUS);
            if (beside == null || !Files.isRegularFile(beside))
                throw new UserError(method + ": set corpus=FILE, text for the second-moment statistics of this model's keys (plain text "
                        + "in the model's language, one passage per line; the papers use Wikipedia). Only a built-in world's model, "
                        + "whose pretraining text sits beside it in " + WORLD_CORPUS + ", has a default; a model derived from one can name "
                        + "that file.");
            file = beside;
            name = "the built-in world's pretraining text (" + beside + ")";
        }
        try {
            return new StatisticsCorpus(name, Files.readAllLines(file));
        } catch (IOException e) {
            throw new UserError(method + ": cannot read corpus " + file + " (" + e.getMessage() + ")");
        }
    }
}
