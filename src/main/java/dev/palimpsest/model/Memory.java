package dev.palimpsest.model;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Knowledge kept beside the weights (GRACE's codebook, …): attached to a model through its site hooks,
 * saved into the model directory with it and restored by {@link LanguageModel#load}.
 */
public interface Memory {
    /** The file it is saved in, inside the model directory. */
    String file();

    void write(Path file) throws IOException;

    /** Removes its hooks: the model computes as if it had never been attached. */
    void detach();
}
