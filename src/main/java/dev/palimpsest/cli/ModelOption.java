package dev.palimpsest.cli;

import java.nio.file.Path;

import dev.palimpsest.UserError;
import dev.palimpsest.model.DType;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.world.DefaultModel;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The {@code --model DIR}, {@code --dtype TYPE} and {@code --device DEVICE} options shared by commands that load a model. */
final class ModelOption {
    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "A Hugging Face model directory (config.json, *.safetensors, tokenizer.json), or a built-in model (built on first use): 'default' (the default world), 'default-bios' (the bios world), each also '-finetuned'.")
    Path dir;

    @Option(names = "--dtype", paramLabel = "TYPE", defaultValue = "auto",
            description = "The type weights are held and computed in: auto (the checkpoint's torch_dtype), float32, bfloat16 or float16. "
                    + "Norm statistics, softmax, log-probabilities and losses are fp32 whatever it is. Saved models keep the input's type unless this names one.")
    String dtype;

    @Mixin
    DeviceOption device;

    @Option(names = "--adapter", paramLabel = "DIR",
            description = "A PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors) applied on top of --model.")
    Path adapter;

    LanguageModel load() throws java.io.IOException {
        LanguageModel m = load(dir);
        if (adapter != null) {
            try {
                dev.palimpsest.model.PeftAdapter.attach(adapter, m.net());
            } catch (RuntimeException e) {
                m.close();
                throw e;
            }
        }
        return m;
    }

    /** For commands that change and save the model: an --adapter is merged into the weights the change starts from. */
    LanguageModel loadMerged() throws java.io.IOException {
        LanguageModel m = load();
        if (adapter != null) dev.palimpsest.train.Lora.mergeAll(m.net());
        return m;
    }

    /** Another model the command reads (a base or reference model), with the same --dtype and --device. */
    LanguageModel load(Path other) throws java.io.IOException {
        device.apply();
        return loadDir(other, dtype());
    }

    /** The --dtype asked for, or null for auto. */
    DType dtype() {
        return parse(dtype);
    }

    /** The type a model derived from {@code m} is saved in: --dtype when it names one, else the type the input was stored in. */
    DType saveType(LanguageModel m) {
        DType asked = dtype();
        return asked != null ? asked : m.storedAs();
    }

    static DType parse(String value) {
        if (value == null || value.equals("auto")) return null;
        DType d = switch (value) {
            case "float32", "bfloat16", "float16" -> DType.ofTorchName(value);
            default -> null;
        };
        if (d == null) throw new UserError("--dtype must be auto, float32, bfloat16 or float16, got '" + value + "'");
        return d;
    }

    /** Loads a model directory, or a built-in model by name (as --model, --base-model and --reference-model say). */
    static LanguageModel loadDir(Path dir, DType as) throws java.io.IOException {
        Path d = DefaultModel.named(dir.toString(), new java.io.PrintWriter(System.err, true));
        return LanguageModel.load(d == null ? dir : d, as);
    }
}
