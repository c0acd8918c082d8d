package dev.palimpsest.cli;

import java.util.concurrent.Callable;

import org.bytedeco.pytorch.global.torch.ScalarType;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import dev.palimpsest.UserError;
import dev.palimpsest.bench.ForwardBench;
import dev.palimpsest.bench.ModelBench;
import dev.palimpsest.bench.TrainBench;
import dev.palimpsest.io.Json;
import dev.palimpsest.io.PalimpsestHome;
import dev.palimpsest.model.DType;
import dev.palimpsest.model.Family;
import dev.palimpsest.world.DefaultModel;

@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks.",
        subcommands = {BenchCommand.Forward.class, BenchCommand.Train.class, BenchCommand.Model.class, BenchCommand.Serve.class})
final class BenchCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** The model shape both throughput benchmarks take. */
    static final class ShapeOptions {
        @Mixin
        DeviceOption device;
        @Option(names = "--family", defaultValue = "LLAMA", description = "LLAMA or GPT2 (default ${DEFAULT-VALUE}).")
        Family family;
        @Option(names = "--layers", defaultValue = "12") int layers;
        @Option(names = "--hidden", defaultValue = "768") int hidden;
        @Option(names = "--intermediate", defaultValue = "2048") int intermediate;
        @Option(names = "--heads", defaultValue = "12") int heads;
        @Option(names = "--kv-heads", defaultValue = "12") int kvHeads;
        @Option(names = "--vocab", defaultValue = "32000") int vocab;
        @Option(names = "--batch", defaultValue = "16", description = "Sequences per batch (default ${DEFAULT-VALUE}).") int batch;
        @Option(names = "--seq", defaultValue = "128", description = "Tokens per sequence (default ${DEFAULT-VALUE}).") int seq;
        @Option(names = "--repeats", defaultValue = "5") int repeats;
        @Option(names = "--dtype", defaultValue = "float32", description = "float32, bfloat16 or float16 (default ${DEFAULT-VALUE}).") String dtype;
        @Option(names = "--json", description = "Also print the figures as one JSON object on the last line.") boolean json;

        ForwardBench.Shape shape(String command, int... more) {
            for (int v : new int[] {layers, hidden, intermediate, heads, kvHeads, vocab, batch, seq, repeats})
                if (v < 1) throw new UserError(command + ": every size must be at least 1");
            for (int v : more) if (v < 1) throw new UserError(command + ": every size must be at least 1");
            return new ForwardBench.Shape(family, layers, hidden, intermediate, heads, kvHeads, vocab);
        }

        ScalarType type(String command) {
            DType d = ModelOption.parse(dtype);
            if (d == null) throw new UserError(command + ": --dtype must be float32, bfloat16 or float16, got '" + dtype + "'");
            return d.scalarType;
        }
    }

    @Command(name = "forward", mixinStandardHelpOptions = true,
            description = {"Scoring and generation throughput of a randomly initialised model (no files needed),",
                    "as tokens/s and as a fraction of the fp32 GEMM rate libtorch reaches here, measured in the same run.",
                    "Defaults: a ~134M-parameter Llama, 16 x 128 tokens per scoring batch. JSON keys: scoreTokensPerSecond, genTokensPerSecond."})
    static final class Forward implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ShapeOptions o;
        @Option(names = "--gen-batch", defaultValue = "8") int genBatch;
        @Option(names = "--gen-prompt", defaultValue = "64") int genPrompt;
        @Option(names = "--gen-tokens", defaultValue = "32") int genTokens;

        @Override
        public Integer call() throws Exception {
            o.device.apply();
            var shape = o.shape("bench forward", genBatch, genPrompt, genTokens);
            var out = spec.commandLine().getOut();
            var r = ForwardBench.run(shape, new ForwardBench.Load(o.batch, o.seq, genBatch, genPrompt, genTokens, o.repeats),
                    o.type("bench forward"), out);
            if (o.json) out.println(Json.MAPPER.writeValueAsString(r));
            return 0;
        }
    }

    @Command(name = "train", mixinStandardHelpOptions = true,
            description = {"Training throughput of a randomly initialised model (no files needed): forward, next-token loss,",
                    "backward and an AdamW step over every weight (fp32 master weights when --dtype is bfloat16).",
                    "Defaults: a ~134M-parameter Llama, 16 x 128 tokens per step. JSON key: trainTokensPerSecond."})
    static final class Train implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ShapeOptions o;

        @Override
        public Integer call() throws Exception {
            o.device.apply();
            var shape = o.shape("bench train");
            var out = spec.commandLine().getOut();
            var r = TrainBench.run(shape, o.batch, o.seq, o.repeats, o.type("bench train"), out);
            if (o.json) out.println(Json.MAPPER.writeValueAsString(r));
            return 0;
        }
    }

    @Command(name = "model", mixinStandardHelpOptions = true,
            description = {"A random checkpoint of a real model's exact shape (written once, cached under the palimpsest home's bench/),",
                    "measured as a user meets it: load time, resident memory, scoring and generation tokens/s, and the peak",
                    "resident memory of the real `score` and `update --method rome` commands (child processes) against the file's size."})
    static final class Model implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--shape", required = true, description = "llama-3.2-1b, llama-3-8b or qwen2.5-1.5b.") String shape;
        @Option(names = "--dtype", defaultValue = "bfloat16", description = "The checkpoint's type: bfloat16, float16 or float32 (default ${DEFAULT-VALUE}).") String dtype;
        @Option(names = "--no-edit", description = "Skip the ROME edit (for shapes whose statistics would take long).") boolean noEdit;
        @Option(names = "--json", description = "Also print the figures as one JSON object on the last line.") boolean json;
        @Mixin
        DeviceOption device;

        @Override
        public Integer call() throws Exception {
            device.apply();
            DType d = ModelOption.parse(dtype);
            if (d == null) throw new UserError("bench model: --dtype must be bfloat16, float16 or float32");
            var out = spec.commandLine().getOut();
            var r = ModelBench.run(shape, d, PalimpsestHome.root().resolve("bench"), !noEdit, out);
            if (json) out.println(Json.MAPPER.writeValueAsString(r));
            return 0;
        }
    }

    @Command(name = "serve", mixinStandardHelpOptions = true,
            description = {"palimpsest serve in this process, loaded by concurrent HTTP clients asking a built-in world's questions:",
                    "generate latency (p50, p99) and throughput idle, then while one update trains and publishes beside them."})
    static final class Serve implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--model", defaultValue = "default", description = "A built-in model: default or default-bios (default ${DEFAULT-VALUE}).") String model;
        @Option(names = "--method", defaultValue = "loka", description = "The update's method (default ${DEFAULT-VALUE}).") String method;
        @Option(names = "--set", paramLabel = "KEY=VALUE", description = "A setting of --method (repeatable).") java.util.Map<String, String> settings = new java.util.LinkedHashMap<>();
        @Option(names = "--clients", defaultValue = "8", description = "Concurrent clients (default ${DEFAULT-VALUE}).") int clients;
        @Option(names = "--requests", defaultValue = "50", description = "Requests per client while idle (default ${DEFAULT-VALUE}).") int requests;
        @Option(names = "--edits", defaultValue = "10", description = "Edits in the update (default ${DEFAULT-VALUE}).") int edits;
        @Option(names = "--forgets", defaultValue = "10", description = "Forgets in the update (default ${DEFAULT-VALUE}).") int forgets;
        @Option(names = "--retain", defaultValue = "40", description = "Other facts of the world given as the server's --retain questions (default ${DEFAULT-VALUE}).") int retain;
        @Option(names = "--max-new-tokens", defaultValue = "16", description = "Tokens per generate (default ${DEFAULT-VALUE}).") int maxNewTokens;
        @Option(names = "--lean", description = "serve --lean: one set of weights for both copies.") boolean lean;
        @Option(names = "--json", description = "Also print the figures as one JSON object on the last line.") boolean json;

        @Override
        public Integer call() throws Exception {
            if (!DefaultModel.isBuiltIn(model)) throw new UserError("bench serve: --model must be a built-in model (default or default-bios): its world's questions are the load");
            if (clients < 1 || requests < 1 || edits < 0 || forgets < 0 || retain < 0 || edits + forgets < 1 || maxNewTokens < 1)
                throw new UserError("bench serve: --clients, --requests and --max-new-tokens must be at least 1, and the update needs an edit or a forget");
            dev.palimpsest.method.Settings.check(dev.palimpsest.method.MethodRegistry.get(method), settings);
            var out = spec.commandLine().getOut();
            java.nio.file.Path dir = DefaultModel.named(model, new java.io.PrintWriter(System.err, true));
            var facts = Json.MAPPER.readTree(dir.resolveSibling("world").resolve("pretrain.json").toFile());
            var r = dev.palimpsest.bench.ServeBench.run(dir, () -> dev.palimpsest.model.LanguageModel.load(dir), facts, method, settings, clients,
                    requests, edits, forgets, retain, maxNewTokens, lean, out);
            out.printf("update: %d requests in %.1f s; its version on disk %.2f MB against a checkpoint of %.1f MB; peak resident memory %.0f MB%n",
                    r.updateRequests(), r.updateSeconds(), r.versionBytes() / 1e6, r.checkpointBytes() / 1e6, r.peakResidentBytes() / 1e6);
            if (json) out.println(Json.MAPPER.writeValueAsString(r));
            return 0;
        }
    }
}
