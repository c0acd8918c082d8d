package dev.palimpsest.io;

/**
 * Named points in the write protocol where a test can make the process die as kill -9 would (no
 * shutdown hooks, nothing flushed): run with {@code -Dpalimpsest.failpoint=NAME}. Crash tests use them
 * to hit the narrow windows that random kills rarely reach.
 */
public final class Failpoints {
    private Failpoints() {}

    /** After the folder's files are written, before its record. */
    public static final String STAGED = "staged";
    /** After the record, before anything is renamed. */
    public static final String RECORDED = "recorded";
    /** After the old folder is moved aside, before the new one is put in place. */
    public static final String MOVED_ASIDE = "moved-aside";
    /** After the new folder is in place, before the old one is deleted. */
    public static final String PUBLISHED = "published";

    /** palimpsest serve: after a model version's folder is published, before the log commits the version. */
    public static final String VERSION_WRITTEN = "version-written";
    /** palimpsest serve: after the log commits a version, before queries are answered on it. */
    public static final String COMMITTED = "committed";

    public static void reach(String name) {
        if (name.equals(System.getProperty("palimpsest.failpoint"))) Runtime.getRuntime().halt(137);
    }
}
