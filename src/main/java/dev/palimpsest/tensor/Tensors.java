package dev.palimpsest.tensor;

import java.util.Arrays;
import java.util.List;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Small helpers for the verbose corners of the libtorch Java API: scalars, arrays, shapes, lists. */
public final class Tensors {
    private Tensors() {}

    public static Scalar scalar(double v) {
        return new Scalar(v);
    }

    /** An integer scalar: keeps integer tensors integer (a double scalar would promote them to float). */
    public static Scalar scalar(long v) {
        return new Scalar(v);
    }

    /** Options for a new tensor of this type on the compute device ({@link ComputeDevice}). */
    public static TensorOptions options(ScalarType type) {
        TensorOptions o = new TensorOptions(type);
        return ComputeDevice.isCpu() ? o : o.device(new org.bytedeco.pytorch.DeviceOptional(ComputeDevice.current()));
    }

    public static Tensor floats(float[] data, long... shape) {
        Tensor t = torch.tensor(data, options(ScalarType.Float));
        return shape.length == 0 ? t : t.reshape(shape);
    }

    /** Doubles kept exact (a float[] would round them), on the compute device. */
    public static Tensor doubles(double[] data) {
        Tensor host = torch.empty(new long[] {data.length}, new TensorOptions(ScalarType.Double), new org.bytedeco.pytorch.MemoryFormatOptional());
        if (data.length > 0) host.data_ptr_double().put(data);
        return ComputeDevice.to(host);
    }

    public static Tensor longs(long[] data, long... shape) {
        Tensor t = torch.tensor(data, options(ScalarType.Long));
        return shape.length == 0 ? t : t.reshape(shape);
    }

    public static Tensor zeros(ScalarType type, long... shape) {
        return torch.zeros(shape, options(type));
    }

    public static Tensor ones(ScalarType type, long... shape) {
        return torch.ones(shape, options(type));
    }

    public static Tensor randn(ScalarType type, long... shape) {
        return torch.randn(shape, options(type));
    }

    /** [0, n) as int64. */
    public static Tensor arange(long n) {
        return torch.arange(scalar(n), options(ScalarType.Long));
    }

    /**
     * The tensor's element type as one of the {@link ScalarType} constants. (The enum object that
     * {@code Tensor.scalar_type()} returns is not always identical to the constant, so {@code ==} on it fails.)
     */
    public static ScalarType dtype(Tensor t) {
        int v = t.scalar_type().value;
        for (ScalarType s : ScalarType.values()) if (s.value == v) return s;
        throw new IllegalStateException("unknown scalar type " + v);
    }

    public static long[] shape(Tensor t) {
        long[] s = new long[(int) t.dim()];
        for (int i = 0; i < s.length; i++) s[i] = t.size(i);
        return s;
    }

    /** Copies a tensor (from whatever device) into a Java array of floats (row-major). */
    public static float[] toFloats(Tensor t) {
        Tensor c = ComputeDevice.host(t.detach()).toType(ScalarType.Float).contiguous();
        float[] out = new float[(int) c.numel()];
        FloatPointer p = c.data_ptr_float();
        p.get(out);
        return out;
    }

    /** Copies a tensor into doubles without passing through fp32. */
    public static double[] toDoublesExact(Tensor t) {
        Tensor c = ComputeDevice.host(t.detach()).toType(ScalarType.Double).contiguous();
        double[] out = new double[(int) c.numel()];
        c.data_ptr_double().get(out);
        return out;
    }

    public static long[] toLongs(Tensor t) {
        Tensor c = ComputeDevice.host(t.detach()).toType(ScalarType.Long).contiguous();
        long[] out = new long[(int) c.numel()];
        LongPointer p = c.data_ptr_long();
        p.get(out);
        return out;
    }

    public static double item(Tensor t) {
        return t.toType(ScalarType.Double).item_double();
    }

    public static TensorVector vector(List<Tensor> tensors) {
        TensorVector v = new TensorVector();
        for (Tensor t : tensors) v.push_back(t);
        return v;
    }

    public static Tensor cat(long dim, Tensor... tensors) {
        return torch.cat(vector(Arrays.asList(tensors)), dim);
    }

    public static Tensor cat(long dim, List<Tensor> tensors) {
        return torch.cat(vector(tensors), dim);
    }

    /** The tensors stacked along a new first dimension. */
    public static Tensor stack(List<Tensor> tensors) {
        return torch.stack(vector(tensors), 0);
    }

    /** The elements [start, end) of dimension dim, as a view. */
    public static Tensor slice(Tensor t, long dim, long start, long end) {
        return t.narrow(dim, start, end - start);
    }

    /**
     * A detached, contiguous fp32 copy that holds a reference of its own, for state kept across forward passes
     * (outside any PointerScope); the holder releases it with {@code releaseReference()}.
     */
    public static Tensor retainedCopy(Tensor t) {
        Tensor c = t.detach().toType(ScalarType.Float).contiguous().clone();
        c.retainReference();
        return c;
    }

    /** The sum over one dimension, which goes away. */
    public static Tensor sum(Tensor t, long dim) {
        return t.sum(new long[] {dim}, false, new org.bytedeco.pytorch.ScalarTypeOptional());
    }

    /**
     * Whether every element is finite. Two reductions (max propagates NaN and shows +Inf, min shows -Inf)
     * instead of an element-wise mask the size of the tensor.
     */
    public static boolean allFinite(Tensor t) {
        if (t.numel() == 0) return true;
        try (org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
            double hi = item(t.max()), lo = item(t.min());
            return Double.isFinite(hi) && Double.isFinite(lo);
        }
    }
}
