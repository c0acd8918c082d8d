package dev.palimpsest.model;

import java.util.List;
import java.util.ServiceLoader;

/**
 * Restores one kind of {@link Memory} from its file in a model directory. Each memory method ships its own reader
 * (listed in {@code META-INF/services/dev.palimpsest.model.MemoryReader}); {@link LanguageModel#load} finds them
 * through {@link ServiceLoader}, so the model package names no method and a new memory method touches only its folder.
 */
public interface MemoryReader {
    /** The file name this kind of memory is saved under, inside the model directory. */
    String file();

    /** The memory in {@code f} (opened by the caller, who closes it), attached to {@code net}'s site hooks. */
    Memory read(CausalLM net, SafeTensorsFile f);

    /** Every reader on the class path. */
    static List<MemoryReader> all() {
        return ServiceLoader.load(MemoryReader.class).stream().map(ServiceLoader.Provider::get).toList();
    }
}
