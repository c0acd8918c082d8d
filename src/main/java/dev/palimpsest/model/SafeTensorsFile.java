package dev.palimpsest.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.palimpsest.UserError;
import dev.palimpsest.tensor.ComputeDevice;
import dev.palimpsest.tensor.Tensors;

/**
 * Reads a {@code .safetensors} file: an 8-byte little-endian header length, a JSON header mapping
 * names to dtype, shape and byte offsets, then the raw data. The header is validated in full before
 * any tensor is touched (size cap, known dtypes, shapes that match their byte ranges, ranges inside
 * the file, no overlaps), so a corrupt file fails with one line naming it and the problem. Every
 * tensor is read through the one channel the header was read from, so the tensors always come from
 * the file whose header was checked, even if another file takes its name meanwhile.
 */
public final class SafeTensorsFile implements AutoCloseable {
    /** Real headers are a few hundred KB; anything past this is a corrupt or hostile file. */
    static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    public record Entry(String name, DType dtype, long[] shape, long begin, long end) {
        public long numel() {
            long n = 1;
            for (long s : shape) n *= s;
            return n;
        }
    }

    private final Path path;
    private final FileChannel channel;
    private final boolean ownsChannel;
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafeTensorsFile(Path path, FileChannel channel, boolean ownsChannel, long dataStart, Map<String, Entry> entries,
            Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.ownsChannel = ownsChannel;
        this.dataStart = dataStart;
        this.entries = entries;
        this.metadata = metadata;
    }

    /** Opens a file by path; {@link #close} closes it. */
    public static SafeTensorsFile open(Path path) {
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new UserError(path + ": cannot read (" + e.getMessage() + ")");
        }
        try {
            return read(ch, path, true);
        } catch (RuntimeException e) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // Reporting the first problem.
            }
            throw e;
        }
    }

    /** Reads the header through a channel the caller keeps open (and closes); {@code path} names it in errors. */
    public static SafeTensorsFile read(FileChannel ch, Path path) {
        return read(ch, path, false);
    }

    private static SafeTensorsFile read(FileChannel ch, Path path, boolean owns) {
        try {
            long size = ch.size();
            if (size < 8) throw bad(path, "file is " + size + " bytes, too short for a safetensors header");
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.flip().getLong();
            if (headerLen < 2 || headerLen > MAX_HEADER_BYTES)
                throw bad(path, "header length " + Long.toUnsignedString(headerLen) + " is absurd (limit "
                        + MAX_HEADER_BYTES + " bytes)");
            if (8 + headerLen > size)
                throw bad(path, "header length " + headerLen + " runs past the end of the file (" + size + " bytes)");
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            readFully(ch, hb, 8);
            String headerText = new String(hb.array(), StandardCharsets.UTF_8);
            JsonNode header;
            try {
                header = new ObjectMapper().readTree(headerText);
            } catch (IOException e) {
                throw bad(path, "header is not valid JSON (" + firstLine(e.getMessage()) + ")");
            }
            if (header == null || !header.isObject()) throw bad(path, "header is not a JSON object");
            long dataLen = size - 8 - headerLen;
            Map<String, Entry> entries = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            Iterator<Map.Entry<String, JsonNode>> it = header.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    if (e.getValue().isObject())
                        e.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                entries.put(e.getKey(), parseEntry(path, e.getKey(), e.getValue(), dataLen));
            }
            checkOverlaps(path, entries);
            return new SafeTensorsFile(path, ch, owns, 8 + headerLen, Collections.unmodifiableMap(entries), metadata);
        } catch (IOException e) {
            throw new UserError(path + ": cannot read (" + e.getMessage() + ")");
        }
    }

    private static Entry parseEntry(Path path, String name, JsonNode n, long dataLen) {
        if (!n.isObject()) throw bad(path, "tensor '" + name + "': entry is not an object");
        JsonNode dt = n.get("dtype"), sh = n.get("shape"), off = n.get("data_offsets");
        if (dt == null || !dt.isTextual()) throw bad(path, "tensor '" + name + "': missing dtype");
        DType dtype = DType.parse(dt.asText());
        if (dtype == null) throw bad(path, "tensor '" + name + "': unsupported dtype '" + dt.asText() + "'");
        if (sh == null || !sh.isArray()) throw bad(path, "tensor '" + name + "': missing shape");
        long[] shape = new long[sh.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.isIntegralNumber() || d.asLong() < 0) throw bad(path, "tensor '" + name + "': bad shape " + sh);
            shape[i] = d.asLong();
            numel = Math.multiplyExact(numel, shape[i]);
            if (numel > dataLen) throw bad(path, "tensor '" + name + "': shape " + sh + " is larger than the file");
        }
        if (off == null || !off.isArray() || off.size() != 2 || !off.get(0).isIntegralNumber()
                || !off.get(1).isIntegralNumber())
            throw bad(path, "tensor '" + name + "': data_offsets must be [begin, end]");
        long begin = off.get(0).asLong(), end = off.get(1).asLong();
        if (begin < 0 || end < begin || end > dataLen)
            throw bad(path, "tensor '" + name + "': data_offsets [" + begin + ", " + end
                    + "] fall outside the data section (" + dataLen + " bytes); the file is truncated or corrupt");
        if (end - begin != numel * dtype.bytes)
            throw bad(path, "tensor '" + name + "': shape " + sh + " of " + dtype + " needs " + numel * dtype.bytes
                    + " bytes but data_offsets span " + (end - begin));
        return new Entry(name, dtype, shape, begin, end);
    }

    private static void checkOverlaps(Path path, Map<String, Entry> entries) {
        List<Entry> sorted = new ArrayList<>(entries.values());
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        for (int i = 1; i < sorted.size(); i++) {
            Entry a = sorted.get(i - 1), b = sorted.get(i);
            if (b.begin < a.end)
                throw bad(path, "tensors '" + a.name + "' and '" + b.name + "' overlap in the data section");
        }
    }

    public Path path() {
        return path;
    }

    public Map<String, Entry> entries() {
        return entries;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * Loads one tensor into memory that libtorch owns, as {@code as} (null: the stored type). The bytes
     * are read straight into the tensor's memory, without a mapping that would stay resident until the
     * garbage collector unmaps it; a conversion holds the stored copy of this one tensor only while it runs.
     * The tensor then moves to the compute device ({@link ComputeDevice}), one tensor at a time.
     */
    public Tensor load(String name, ScalarType as) {
        Entry e = entries.get(name);
        if (e == null) throw new UserError(path + ": no tensor named '" + name + "'");
        ScalarType target = as == null || !e.dtype.floating ? e.dtype.scalarType : as;
        try {
            Tensor stored = torch.empty(e.shape, new TensorOptions(e.dtype.scalarType), new org.bytedeco.pytorch.MemoryFormatOptional());
            long len = e.end - e.begin;
            if (len > 0) {
                BytePointer data = new BytePointer(stored.data_ptr());
                for (long done = 0; done < len; ) {
                    int chunk = (int) Math.min(len - done, 1 << 30);
                    ByteBuffer buf = data.position(done).capacity(done + chunk).asByteBuffer();
                    readFully(channel, buf, dataStart + e.begin + done);
                    done += chunk;
                }
                data.close();
            }
            Tensor owned = stored;
            if (target != e.dtype.scalarType) {
                owned = stored.toType(target);
                stored.close();
            }
            if (e.dtype.floating && !Tensors.allFinite(owned))
                throw new UserError(path + ": tensor '" + name + "' holds NaN or infinite values; the file is damaged");
            Tensor placed = ComputeDevice.to(owned);
            if (placed != owned) owned.close();
            return placed;
        } catch (IOException ex) {
            throw new UserError(path + ": cannot read tensor '" + name + "' (" + ex.getMessage() + ")");
        }
    }

    @Override
    public void close() {
        if (!ownsChannel) return;
        try {
            channel.close();
        } catch (IOException e) {
            // Only read from.
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) throw new IOException("unexpected end of file");
            pos += n;
        }
    }

    private static UserError bad(Path path, String problem) {
        return new UserError(path + ": " + problem);
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        int i = s.indexOf('\n');
        return i < 0 ? s : s.substring(0, i);
    }
}
