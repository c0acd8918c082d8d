package dev.palimpsest.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.UserError;
import dev.palimpsest.tensor.ComputeDevice;
import dev.palimpsest.tensor.Tensors;

/**
 * Writes tensors to a {@code .safetensors} file in the given order. Floating tensors are converted to
 * {@code floatType}; others keep their type. The header is padded with spaces to 8-byte alignment,
 * as the reference implementation does. Tensors with NaN or infinite values are refused: palimpsest never
 * saves a broken model. The caller chooses the path; {@link dev.palimpsest.io.OutputFolder} (or
 * {@link dev.palimpsest.io.AtomicFiles}) makes it atomic and durable.
 */
public final class SafeTensorsWriter {
    private SafeTensorsWriter() {}

    /** One tensor to write: its name, stored type and shape, and how to get it (made when its turn comes). */
    public record Item(String name, DType dtype, long[] shape, Supplier<Tensor> tensor) {
        public static Item of(String name, Tensor t) {
            return new Item(name, DType.of(Tensors.dtype(t)), Tensors.shape(t), () -> t);
        }

        public long numel() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }
    }

    public static void write(Path path, Map<String, Tensor> tensors, DType floatType, Map<String, String> metadata)
            throws IOException {
        List<Item> items = new ArrayList<>();
        tensors.forEach((n, t) -> items.add(Item.of(n, t)));
        write(path, items, floatType, metadata);
    }

    /** Writes the items in order, each tensor fetched, checked, converted and written before the next is made. */
    public static void write(Path path, List<Item> items, DType floatType, Map<String, String> metadata) throws IOException {
        ObjectMapper om = new ObjectMapper();
        ObjectNode header = om.createObjectNode();
        ObjectNode meta = header.putObject("__metadata__");
        new java.util.TreeMap<>(metadata).forEach(meta::put); // sorted: the same file for the same content, whatever map the caller built
        long offset = 0;
        for (Item it : items) {
            DType dtype = it.dtype().floating ? floatType : it.dtype();
            ObjectNode entry = header.putObject(it.name());
            entry.put("dtype", dtype.name());
            ArrayNode shape = entry.putArray("shape");
            for (long d : it.shape()) shape.add(d);
            long bytes = it.numel() * dtype.bytes;
            entry.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = om.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) head.put((byte) ' ');
        head.flip();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            while (head.hasRemaining()) ch.write(head);
            // One tensor at a time is converted (and made contiguous): never a second copy of the whole model.
            for (Item it : items) {
                try (PointerScope scope = new PointerScope()) {
                    Tensor t = it.tensor().get().detach();
                    boolean floating = DType.of(Tensors.dtype(t)).floating;
                    if (floating && !Tensors.allFinite(t))
                        throw new UserError(path.getFileName() + ": tensor '" + it.name()
                                + "' holds NaN or infinite values; refusing to save it (did the update diverge? try a smaller lr)");
                    if (floating && Tensors.dtype(t) != floatType.scalarType) t = t.toType(floatType.scalarType);
                    t = ComputeDevice.host(t).contiguous();
                    long n = t.nbytes();
                    if (n == 0) continue;
                    BytePointer p = new BytePointer(t.data_ptr()).capacity(n);
                    // A ByteBuffer view holds at most 2 GiB: write huge tensors in pieces.
                    for (long pos = 0; pos < n; pos += Integer.MAX_VALUE / 2) {
                        long len = Math.min(Integer.MAX_VALUE / 2, n - pos);
                        ByteBuffer buf = new BytePointer(p).position(pos).limit(pos + len).asBuffer();
                        while (buf.hasRemaining()) ch.write(buf);
                    }
                }
            }
        }
    }
}
