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
