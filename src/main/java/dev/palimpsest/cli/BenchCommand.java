package dev.palimpsest.cli;

import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import dev.palimpsest.UserError;
import dev.palimpsest.bench.ForwardBench;
import dev.palimpsest.io.Json;
import dev.palimpsest.model.Family;

@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks.",
        subcommands = {BenchCommand.Forward.class})
final class BenchCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "forward", mixinStandardHelpOptions = true,
            description = {"Scoring and generation throughput of a randomly initialised model (no files needed),",
                    "as tokens/s and as a fraction of the fp32 GEMM rate libtorch reaches here, measured in the same run.",
                    "Defaults: a ~134M-parameter Llama, 4 x 512 tokens per scoring batch."})
    static final class Forward implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--family", defaultValue = "LLAMA", description = "LLAMA or GPT2 (default ${DEFAULT-VALUE}).")
        Family family;
        @Option(names = "--layers", defaultValue = "12") int layers;
        @Option(names = "--hidden", defaultValue = "768") int hidden;
        @Option(names = "--intermediate", defaultValue = "2048") int intermediate;
        @Option(names = "--heads", defaultValue = "12") int heads;
        @Option(names = "--kv-heads", defaultValue = "12") int kvHeads;
        @Option(names = "--vocab", defaultValue = "32000") int vocab;
        @Option(names = "--batch", defaultValue = "4", description = "Sequences per scoring batch.") int batch;
        @Option(names = "--seq", defaultValue = "512", description = "Tokens per scoring sequence.") int seq;
        @Option(names = "--gen-batch", defaultValue = "8") int genBatch;
        @Option(names = "--gen-prompt", defaultValue = "64") int genPrompt;
        @Option(names = "--gen-tokens", defaultValue = "32") int genTokens;
        @Option(names = "--repeats", defaultValue = "5") int repeats;
        @Option(names = "--json", description = "Also print the figures as one JSON object on the last line.") boolean json;

        @Override
        public Integer call() throws Exception {
            for (int v : new int[] {layers, hidden, intermediate, heads, kvHeads, vocab, batch, seq, genBatch, genPrompt,
                    genTokens, repeats})
                if (v < 1) throw new UserError("bench forward: every size must be at least 1");
            var out = spec.commandLine().getOut();
            var r = ForwardBench.run(new ForwardBench.Shape(family, layers, hidden, intermediate, heads, kvHeads, vocab),
                    new ForwardBench.Load(batch, seq, genBatch, genPrompt, genTokens, repeats), out);
            if (json) out.println(Json.MAPPER.writeValueAsString(r));
            return 0;
        }
    }
}
