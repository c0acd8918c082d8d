package dev.palimpsest.cli;

import dev.palimpsest.tensor.ComputeDevice;
import picocli.CommandLine.Option;

/** The {@code --device} option of every command that computes with a model. */
final class DeviceOption {
    @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "auto",
            description = "Where to compute: auto (the first CUDA device when this build has GPU natives and sees one, else the CPU), "
                    + "cpu, cuda or cuda:N (default ${DEFAULT-VALUE}).")
    String device;

    /** Makes the asked-for device the one weights load onto and tensors are made on; a device that is not there is the user's error. */
    void apply() {
        ComputeDevice.use(device);
    }
}
