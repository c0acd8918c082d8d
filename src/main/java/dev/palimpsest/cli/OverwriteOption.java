package dev.palimpsest.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import dev.palimpsest.io.AtomicFiles;
import dev.palimpsest.io.OutputFolder;
import dev.palimpsest.io.OutputPolicy;
import dev.palimpsest.io.PalimpsestHome;
import dev.palimpsest.world.DefaultModel;
import picocli.CommandLine.Option;

/**
 * {@code --overwrite}, and the checks every output of a command passes before any compute: a new path
 * or an empty folder, else (with --overwrite) a folder palimpsest wrote; never the command's inputs, a
 * folder around them, the working directory or palimpsest's cache.
 */
final class OverwriteOption {
    @Option(names = "--overwrite",
            description = "Replace the output if it exists: only a folder palimpsest wrote (it has palimpsest.json), or a single file; never an input, a folder around one, the working directory or the cache.")
    boolean overwrite;

    /** Prepares an output folder; {@code model} and {@code data} are the command's inputs (nulls skipped). */
    OutputFolder folder(Path out, Path model, Path... data) {
        return OutputFolder.prepare(out, overwrite, guarded(model, data));
    }

    /** Checks an output file (a plot); returns the path to write. */
    Path file(Path out, Path model, Path... data) {
        return AtomicFiles.prepare(out, overwrite, guarded(model, data));
    }

    static List<OutputPolicy.Guarded> guarded(Path model, Path... data) {
        List<OutputPolicy.Guarded> g = new ArrayList<>();
        if (model != null && !DefaultModel.isBuiltIn(model.toString())) g.add(new OutputPolicy.Guarded(model, "the input model"));
        for (Path p : data) if (p != null) g.add(new OutputPolicy.Guarded(p, "an input file"));
        g.add(new OutputPolicy.Guarded(PalimpsestHome.root(), "palimpsest's cache"));
        return g;
    }
}
