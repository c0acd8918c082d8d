package dev.palimpsest.tensor;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import dev.palimpsest.UserError;

/**
 * The device this process computes on: the CPU, or one CUDA device. Weights move there as they are
 * loaded, and every tensor the project makes ({@link Tensors}) is made there, so nothing crosses
 * between host and device except at the edges: weights coming in, numbers read back, files written.
 * One device per process, like PyTorch's {@code torch.set_default_device}: the commands pick it once,
 * from {@code --device}, before they load a model.
 */
public final class ComputeDevice {
    // Retained: the first use may come inside a PointerScope, whose close would otherwise free the process's device.
    private static volatile Device current = new Device(torch.DeviceType.CPU).retainReference();
    private static volatile String name = "cpu";

    private ComputeDevice() {}

    /** The device tensors are made on. */
    public static Device current() {
        return current;
    }

    /** How the device was named: cpu, cuda:0, ... */
    public static String name() {
        return name;
    }

    public static boolean isCpu() {
        return current.is_cpu();
    }

    /**
     * Computes on {@code spec}: auto (the first CUDA device when libtorch sees one, else the CPU), cpu,
     * cuda or cuda:N. A CUDA device that this build or machine does not have is the user's error.
     */
    public static void use(String spec) {
        String s = spec == null ? "auto" : spec.trim().toLowerCase(java.util.Locale.ROOT);
        if (s.equals("auto")) {
            set(cudaDevices() > 0 ? "cuda:0" : "cpu");
            return;
        }
        if (s.equals("cpu")) {
            set("cpu");
            return;
        }
        if (!s.matches("cuda(:\\d{1,3})?"))
            throw new UserError("--device must be auto, cpu, cuda or cuda:N, got '" + spec + "'");
        int index = s.equals("cuda") ? 0 : Integer.parseInt(s.substring(5));
        int count = cudaDevices();
        if (count == 0)
            throw new UserError("--device " + s + ": libtorch sees no CUDA device (no GPU or driver here, or this build has CPU-only natives: build with 'mvn -Pcuda package')");
        if (index >= count) throw new UserError("--device " + s + ": only " + count + " CUDA device(s) visible (cuda:0 to cuda:" + (count - 1) + ")");
        set("cuda:" + index);
    }

    /** Any device libtorch names, unchecked ({@link #use} checks what a user asks for). */
    public static void set(String torchName) {
        current = new Device(torchName).retainReference();
        name = torchName;
    }

    /** CUDA devices visible to libtorch (0 with the CPU-only natives). */
    public static int cudaDevices() {
        return torch.cuda_is_available() ? torch.cuda_device_count() : 0;
    }

    /** The tensor on the compute device (itself when it is there already). */
    public static Tensor to(Tensor t) {
        return onDevice(t) ? t : t.to(current, Tensors.dtype(t));
    }

    /** The tensor in host memory, for reading its numbers or writing them to a file (itself when it is there). */
    public static Tensor host(Tensor t) {
        return t.device().is_cpu() ? t : t.cpu();
    }

    private static boolean onDevice(Tensor t) {
        Device d = t.device();
        return d.type().value == current.type().value && (!current.has_index() || d.index() == current.index());
    }
}
