package dev.palimpsest;

/** The release, as --version prints it and as the records of written folders name their writer. */
public final class Version {
    private Version() {}

    public static final String TEXT = "palimpsest 0.1.0";
}
