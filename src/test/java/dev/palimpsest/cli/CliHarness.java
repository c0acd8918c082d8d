package dev.palimpsest.cli;

/** Lets tests in other packages run the CLI in-process. */
public final class CliHarness {
    private CliHarness() {}

    public record Run(int code, String out, String err) {}

    public static Run run(String... args) {
        CliRun r = CliRun.of(args);
        return new Run(r.code(), r.out(), r.err());
    }
}
