package dev.palimpsest.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import dev.palimpsest.UserError;
import dev.palimpsest.io.OutputFolder;
import dev.palimpsest.method.memory.GraceCodebook;
import dev.palimpsest.method.loka.LokaCodebook;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.PeftAdapter;
import dev.palimpsest.method.memory.WiseSideMemory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Exports what of an update other tools can load. A model whose update is in its weights needs nothing (its folder
 * is a standard Hugging Face model). LOKA's memories are LoRA adapters: each exports as a PEFT adapter folder, which
 * applies to every input (LOKA's router, which picks a memory per input, stays behind). GRACE's codebook and WISE's
 * side memory are not LoRA: nothing outside palimpsest applies them.
 */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Writes an updated model's LoRA-based memories (LOKA's) as PEFT adapter folders that PEFT, vLLM's multi-LoRA serving",
                "and --adapter load onto the model's (unchanged) weights. Each applies to every input: LOKA's router is not exported."})
final class ExportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption model;

    @Option(names = "--memory", paramLabel = "K", description = "The LOKA memory to export (0-based), or 'all' (one folder per memory, memory-K).")
    String memory = "all";

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "A new (or empty) folder; see --overwrite.")
    Path out;

    @Mixin
    OverwriteOption overwrite;

    @Override
    public Integer call() throws Exception {
        try (OutputFolder folder = overwrite.folder(out, model.dir); LanguageModel m = model.load()) {
            LokaCodebook loka = m.memory(LokaCodebook.class);
            if (loka == null) {
                if (m.memory(GraceCodebook.class) != null || m.memory(WiseSideMemory.class) != null)
                    throw new UserError(model.dir + ": its update is GRACE's codebook or WISE's side memory, which are not LoRA adapters: "
                            + "nothing outside palimpsest can apply them (no PEFT export exists)");
                throw new UserError(model.dir + ": no LoRA-based memory to export; an update in the weights needs no export (the folder loads as it is)");
            }
            int from, to;
            if (memory.equals("all")) {
                from = 0;
                to = loka.size();
            } else {
                try {
                    from = Integer.parseInt(memory);
                } catch (NumberFormatException e) {
                    throw new UserError("--memory must be a memory number or 'all', got '" + memory + "'");
                }
                if (from < 0 || from >= loka.size()) throw new UserError("--memory " + from + ": the model has memories 0.." + (loka.size() - 1));
                to = from + 1;
            }
            boolean conv1d = m.config().family() == dev.palimpsest.model.Family.GPT2;
            String base = model.dir.toAbsolutePath().toString();
            int first = from, last = to;
            folder.fill(dir -> {
                for (int k = first; k < last; k++) {
                    Path target = last - first == 1 ? dir : java.nio.file.Files.createDirectories(dir.resolve("memory-" + k));
                    PeftAdapter.write(target, loka.memory(k), conv1d, base);
                }
            });
            folder.publish("PEFT adapters");
            spec.commandLine().getOut().printf("%s: %d LOKA memor%s as PEFT adapters for %s; each applies to every input "
                    + "(LOKA's router, which picks a memory per input, is not exported)%n", out, to - from, to - from == 1 ? "y" : "ies", model.dir);
        }
        return 0;
    }
}
