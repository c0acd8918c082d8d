package dev.palimpsest.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.palimpsest.UserError;
import dev.palimpsest.tensor.Tensors;

/** The reader against files assembled byte by byte in the test, good and bad. */
class SafeTensorsFileTest {
    @TempDir
    Path dir;

    /** header JSON + raw little-endian data, as the format defines it. */
    Path file(String name, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Path p = dir.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    static byte[] f32(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return b.array();
    }

    /** bf16 is the top half of an fp32 bit pattern. */
    static byte[] bf16(float... v) {
        ByteBuffer b = ByteBuffer.allocate(2 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putShort((short) (Float.floatToIntBits(f) >>> 16));
        return b.array();
    }

    /** IEEE half-precision bit patterns, worked out by hand: 0.5 = 0x3800, -3.75 = 0xC380. */
    static byte[] f16Half() {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putShort((short) 0x3800).putShort((short) 0xC380)
                .array();
    }

    @Test
    void readsF32Bf16AndF16AsStoredOrConverted() throws IOException {
        byte[] data = concat(f32(1.5f, -2f, 3.25f, 0f, 7f, -1f), bf16(1.5f, -2f, 0.375f, 96f), f16Half());
        Path p = file("ok.safetensors", "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[24,32]},"
                + "\"c\":{\"dtype\":\"F16\",\"shape\":[1,2],\"data_offsets\":[32,36]}}", data);
        SafeTensorsFile f = SafeTensorsFile.open(p);
        assertEquals("pt", f.metadata().get("format"));
        try (PointerScope s = new PointerScope()) {
            var a = f.load("a", ScalarType.Float);
            assertArrayEquals(new long[] {2, 3}, Tensors.shape(a));
            assertArrayEquals(new float[] {1.5f, -2f, 3.25f, 0f, 7f, -1f}, Tensors.toFloats(a));
            assertArrayEquals(new float[] {1.5f, -2f, 0.375f, 96f}, Tensors.toFloats(f.load("b", ScalarType.Float)));
            assertEquals(ScalarType.Float, Tensors.dtype(f.load("b", ScalarType.Float)));
            assertArrayEquals(new float[] {0.5f, -3.75f}, Tensors.toFloats(f.load("c", ScalarType.Float)));
            // Kept as stored (null), or converted down: the bytes land in the tensor's own memory.
            var b = f.load("b", null);
            assertEquals(ScalarType.BFloat16, Tensors.dtype(b));
            assertArrayEquals(new float[] {1.5f, -2f, 0.375f, 96f}, Tensors.toFloats(b.toType(ScalarType.Float)));
            var a16 = f.load("a", ScalarType.BFloat16);
            assertEquals(ScalarType.BFloat16, Tensors.dtype(a16));
            assertArrayEquals(new float[] {1.5f, -2f, 3.25f, 0f, 7f, -1f}, Tensors.toFloats(a16.toType(ScalarType.Float)));
        }
    }

    @Test
    void rejectsBadFilesWithOneLineNamingTheFile() throws IOException {
        byte[] six = f32(1, 2, 3, 4, 5, 6);
        String good = "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}";
        assertRejected(file("short", "", new byte[0]), "header");
        Path tiny = dir.resolve("tiny");
        Files.write(tiny, new byte[] {1, 2, 3});
        assertRejected(tiny, "too short");
        Path absurd = dir.resolve("absurd");
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(Long.MAX_VALUE / 2).putLong(0);
        Files.write(absurd, b.array());
        assertRejected(absurd, "absurd");
        assertRejected(file("json", "{not json", six), "not valid JSON");
        assertRejected(file("dtype", "{\"a\":{\"dtype\":\"Q4\",\"shape\":[6],\"data_offsets\":[0,24]}}", six), "unsupported dtype");
        assertRejected(file("size", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[0,24]}}", six), "needs 32 bytes");
        assertRejected(file("past", "{\"a\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]}}", six), "outside the data section");
        assertRejected(file("overlap", "{" + good + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}", six), "overlap");
        assertRejected(file("negative", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-6],\"data_offsets\":[0,24]}}", six), "bad shape");
        // Truncated: a good header whose data section lost its tail.
        Path whole = file("whole", "{" + good + "}", six);
        byte[] all = Files.readAllBytes(whole);
        Path cut = dir.resolve("truncated.safetensors");
        Files.write(cut, java.util.Arrays.copyOf(all, all.length - 5));
        assertRejected(cut, "truncated");
    }

    void assertRejected(Path p, String expected) {
        UserError e = assertThrows(UserError.class, () -> SafeTensorsFile.open(p));
        assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) n += p.length;
        byte[] out = new byte[n];
        int o = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }
}
