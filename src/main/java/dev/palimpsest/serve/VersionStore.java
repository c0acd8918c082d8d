package dev.palimpsest.serve;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import com.fasterxml.jackson.databind.JsonNode;

import dev.palimpsest.UserError;
import dev.palimpsest.io.AtomicFiles;
import dev.palimpsest.io.Json;
import dev.palimpsest.io.OutputFolder;
import dev.palimpsest.model.DType;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.Memory;
import dev.palimpsest.model.MemoryReader;
import dev.palimpsest.model.SafeTensorsFile;
import dev.palimpsest.model.SafeTensorsWriter;

/**
 * The model's state after each version, as files: {@code versions/N/} holds the weights that differ from the loaded
 * model (those any update so far wrote to; none for memory methods), the memories attached (LOKA's codebook, GRACE's,
 * WISE's side memory) and {@code version.json}. Each folder is published whole (staged, synced, renamed) before the
 * log commits the version, so a crash leaves either a complete folder or none, and a folder the log never committed is
 * removed on restart. States are complete, not chained: restoring version N reads only its folder.
 */
public final class VersionStore {
    private static final String RECORD = "version.json";
    private final Path root;

    public VersionStore(Path stateDir) {
        this.root = stateDir.resolve("versions");
    }

    public Path folder(long version) {
        return root.resolve(Long.toString(version));
    }

    /** Writes version {@code version}: {@code changed} names the weights that differ from the loaded model. */
    public void write(long version, LanguageModel m, Set<String> changed) {
        try (OutputFolder out = OutputFolder.prepare(folder(version), false, List.of())) {
            Map<DType, Map<String, Tensor>> byType = new LinkedHashMap<>();
            for (String n : new TreeSet<>(changed)) {
                Tensor t = m.net().parameter(n);
                byType.computeIfAbsent(DType.of(t.scalar_type()), d -> new LinkedHashMap<>()).put(n, t);
            }
            out.fill(dir -> {
                // One file per stored type, so that every weight comes back bit for bit.
                for (Map.Entry<DType, Map<String, Tensor>> e : byType.entrySet())
                    SafeTensorsWriter.write(dir.resolve(weightsFile(e.getKey())), e.getValue(), e.getKey(), Map.of());
                for (Memory mem : m.memories()) mem.write(dir.resolve(mem.file()));
            });
            out.writeJson(RECORD, Map.of("version", version, "changed", new TreeSet<>(changed)));
            out.publish("model version");
        }
    }

    /** The weights version {@code version} changed (relative to the loaded model). */
    public Set<String> changed(long version) {
        if (version == 0) return Set.of();
        Path f = folder(version).resolve(RECORD);
        try {
            JsonNode n = Json.MAPPER.readTree(f.toFile());
            Set<String> out = new TreeSet<>();
            n.path("changed").forEach(x -> out.add(x.asText()));
            return out;
        } catch (IOException e) {
            throw new UserError(f + ": cannot read the model version's record (" + e.getMessage() + ")");
        }
    }

    /** Brings {@code m}, the model as loaded, to version {@code version}: its changed weights and its memories. */
    public void restore(LanguageModel m, long version) {
        if (version == 0) return;
        Path dir = folder(version);
        if (!Files.isDirectory(dir)) throw new UserError(dir + ": model version " + version + " is in the log but its folder is missing");
        try (NoGradGuard g = new NoGradGuard(); DirectoryStream<Path> files = Files.newDirectoryStream(dir, "weights-*.safetensors")) {
            for (Path f : files)
                try (SafeTensorsFile st = SafeTensorsFile.open(f)) {
                    for (String n : st.entries().keySet()) {
                        Tensor live = m.net().parameter(n);
                        Tensor saved = st.load(n, live.scalar_type());
                        live.copy_(saved);
                        saved.close();
                    }
                }
        } catch (IOException e) {
            throw new UserError(dir + ": cannot read (" + e.getMessage() + ")");
        }
        restoreMemories(m, version);
    }

    /** Attaches version {@code version}'s memories to {@code m}, which has none. */
    public void restoreMemories(LanguageModel m, long version) {
        if (version == 0) return;
        Path dir = folder(version);
        for (MemoryReader r : MemoryReader.all()) {
            Path f = dir.resolve(r.file());
            if (Files.exists(f))
                try (SafeTensorsFile st = SafeTensorsFile.open(f)) {
                    m.attach(r.read(m.net(), st));
                }
        }
    }

    /** Removes version folders above {@code committed}: written by a run that died before the log committed them. */
    public List<Long> removeAbove(long committed) {
        List<Long> removed = new ArrayList<>();
        if (!Files.isDirectory(root)) return removed;
        try (DirectoryStream<Path> s = Files.newDirectoryStream(root)) {
            for (Path p : s) {
                String name = p.getFileName().toString();
                if (!name.matches("\\d+")) continue;
                long v = Long.parseLong(name);
                if (v > committed) {
                    AtomicFiles.deleteTree(p);
                    removed.add(v);
                }
            }
        } catch (IOException e) {
            throw new UserError(root + ": cannot remove uncommitted model versions (" + e.getMessage() + ")");
        }
        return removed;
    }

    private static String weightsFile(DType d) {
        return "weights-" + d.torchName() + ".safetensors";
    }
}
