package dev.palimpsest.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

/**
 * The model package is the runtime under every method: it names none of them (memories plug in through
 * {@link MemoryReader}), nor training, worlds, evaluation or the command line.
 */
class LayeringTest {
    @Test
    void theModelPackageImportsNoLayerAboveIt() throws IOException {
        Set<String> offending = new TreeSet<>();
        try (var files = Files.list(Path.of("src/main/java/dev/palimpsest/model"))) {
            for (Path f : (Iterable<Path>) files::iterator)
                for (String layer : List.of("method", "train", "world", "eval", "experiment", "cli", "report", "bench", "data", "request"))
                    if (Files.readString(f).contains("dev.palimpsest." + layer + ".")) offending.add(f.getFileName() + " -> " + layer);
        }
        assertTrue(offending.isEmpty(), "model/ reaches up into " + offending);
    }

    @Test
    void everyMemoryKindIsFoundByItsReader() {
        List<String> files = MemoryReader.all().stream().map(MemoryReader::file).sorted().toList();
        assertEquals(List.of("palimpsest_grace.safetensors", "palimpsest_loka.safetensors", "palimpsest_wise.safetensors"), files);
    }
}
