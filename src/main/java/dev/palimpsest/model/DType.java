package dev.palimpsest.model;

import org.bytedeco.pytorch.global.torch.ScalarType;

/** Element types of the safetensors format and their libtorch counterparts. */
public enum DType {
    F64(8, ScalarType.Double, true),
    F32(4, ScalarType.Float, true),
    F16(2, ScalarType.Half, true),
    BF16(2, ScalarType.BFloat16, true),
    I64(8, ScalarType.Long, false),
    I32(4, ScalarType.Int, false),
    I16(2, ScalarType.Short, false),
    I8(1, ScalarType.Char, false),
    U8(1, ScalarType.Byte, false),
    BOOL(1, ScalarType.Bool, false);

    public final int bytes;
    public final ScalarType scalarType;
    public final boolean floating;

    DType(int bytes, ScalarType scalarType, boolean floating) {
        this.bytes = bytes;
        this.scalarType = scalarType;
        this.floating = floating;
    }

    /** The safetensors name, or null when the name is not one of ours. */
    public static DType parse(String name) {
        for (DType d : values()) if (d.name().equals(name)) return d;
        return null;
    }

    public static DType of(ScalarType t) {
        for (DType d : values()) if (d.scalarType == t) return d;
        throw new IllegalArgumentException("no safetensors dtype for " + t);
    }

    /**
     * The type a model computes in for transformers' {@code torch_dtype} name or the {@code --dtype} option's
     * value (float32, bfloat16, float16; float64 computes in float32), or null for any other name.
     */
    public static DType ofTorchName(String name) {
        if (name == null) return null;
        return switch (name) {
            case "float32", "float", "float64", "double" -> F32;
            case "bfloat16" -> BF16;
            case "float16", "half" -> F16;
            default -> null;
        };
    }

    /** The type weights stored as this type are computed in: fp64 checkpoints compute in fp32. */
    public DType computeType() {
        return this == F64 ? F32 : this;
    }

    /** The name transformers writes as torch_dtype in config.json. */
    public String torchName() {
        return switch (this) {
            case F64 -> "float64";
            case F32 -> "float32";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            default -> name().toLowerCase();
        };
    }
}
