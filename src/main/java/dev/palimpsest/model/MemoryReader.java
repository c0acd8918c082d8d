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

    /** A reader given by its file name and the memory's read function; a memory's reader is a subclass with a no-argument constructor. */
    abstract class Of implements MemoryReader {
        private final String file;
        private final java.util.function.BiFunction<CausalLM, SafeTensorsFile, ? extends Memory> read;

        protected Of(String file, java.util.function.BiFunction<CausalLM, SafeTensorsFile, ? extends Memory> read) {
            this.file = file;
            this.read = read;
        }

        @Override
        public String file() {
            return file;
        }

        @Override
        public Memory read(CausalLM net, SafeTensorsFile f) {
            return read.apply(net, f);
        }
    }

    /** Every reader on the class path. */
    static List<MemoryReader> all() {
        return ServiceLoader.load(MemoryReader.class).stream().map(ServiceLoader.Provider::get).toList();
    }
}
