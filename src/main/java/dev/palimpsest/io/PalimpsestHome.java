package dev.palimpsest.io;

import java.nio.file.Path;

/**
 * Where palimpsest keeps what it builds once and reuses: the built-in models, the editors' key statistics,
 * benchmark checkpoints. The system property palimpsest.home, else $PALIMPSEST_HOME, else ~/.cache/palimpsest.
 */
public final class PalimpsestHome {
    private PalimpsestHome() {}

    public static Path root() {
        String prop = System.getProperty("palimpsest.home");
        if (prop != null && !prop.isBlank()) return Path.of(prop);
        String home = System.getenv("PALIMPSEST_HOME");
        return home != null && !home.isBlank() ? Path.of(home) : Path.of(System.getProperty("user.home"), ".cache", "palimpsest");
    }
}
