package dev.palimpsest.cli;

import java.io.PrintWriter;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import dev.palimpsest.UserError;
import dev.palimpsest.io.Cleanup;
import dev.palimpsest.io.Progress;

/** The {@code palimpsest} command line: one subcommand per job. */
@Command(name = "palimpsest", mixinStandardHelpOptions = true, version = dev.palimpsest.Version.TEXT,
        description = "Edit and unlearn the knowledge of large language models.",
        subcommands = {ScoreCommand.class, GenerateCommand.class, WorldCommand.class, ModelCommand.class, FinetuneCommand.class, EvalCommand.class, DemoCommand.class, ExperimentCommand.class, UpdateCommand.class, MethodsCommand.class, TraceCommand.class, AnalyzeCommand.class,
                BenchCommand.class, ExportCommand.class, ServeCommand.class})
public final class Main implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        int code = run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true));
        // For `bench model`, which runs commands as child processes and reads what they peaked at.
        if (System.getProperty("palimpsest.reportPeakRss") != null)
            System.err.println("palimpsest: peak resident memory " + dev.palimpsest.bench.PeakMemory.peakBytes() + " bytes");
        System.exit(code);
    }

    /** Runs the CLI with the given streams and returns the exit code (0 ok, 1 internal error, 2 bad input). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new Main());
        // update --help ends with every method and its settings, generated from their declarations.
        cli.getSubcommands().get("update").getCommandSpec().usageMessage().footer("%nMethods and their settings (--set KEY=VALUE):%n" + MethodsCommand.text().replace("%", "%%"));
        cli.setOut(out);
        cli.setErr(err);
        cli.setParameterExceptionHandler((ex, a) -> {
            err.println("palimpsest: " + ex.getMessage() + " (see --help)");
            return 2;
        });
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            Progress.clearLine();
            if (Cleanup.stopping()) return 143; // stopped by a signal: the work was cut short, not wrong
            UserError user = userError(ex);
            if (user != null) {
                err.println("palimpsest: " + oneLine(user.getMessage()));
                return 2;
            }
            if (System.getenv("PALIMPSEST_DEBUG") != null) ex.printStackTrace(err);
            err.println("palimpsest: internal error: " + ex.getClass().getSimpleName() + ": " + oneLine(ex.getMessage())
                    + " (set PALIMPSEST_DEBUG=1 for the stack trace)");
            return 1;
        });
        int code = cli.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    /**
     * The problem as the user's to fix, if it is one: a {@link UserError} anywhere in the causes, a file
     * the system would not read or write (missing, no permission, disk full), or memory the machine does
     * not have.
     */
    static UserError userError(Throwable ex) {
        for (Throwable c = ex; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof UserError u) return u;
            if (c instanceof java.nio.file.FileSystemException f)
                return new UserError((f.getFile() == null ? "" : f.getFile() + ": ") + (f.getReason() != null ? f.getReason() : f.getClass().getSimpleName()));
            if (c instanceof java.io.IOException io)
                return new UserError("cannot read or write a file (" + oneLine(io.getMessage()) + ")");
            if (c instanceof OutOfMemoryError || (c.getMessage() != null && c.getMessage().contains("can't allocate memory")))
                return new UserError("out of memory: the model or batch does not fit this machine (" + oneLine(c.getMessage()) + ")");
        }
        return null;
    }

    /** A message as one line: line breaks inside it (from user text) are shown as \n. */
    static String oneLine(String s) {
        if (s == null) return "";
        return s.strip().replace("\r", "\\r").replace("\n", "\\n");
    }
}
