package dev.palimpsest.cli;

import java.io.PrintWriter;

import dev.palimpsest.UserError;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code palimpsest} command line: one subcommand per job. */
@Command(name = "palimpsest", mixinStandardHelpOptions = true, version = "palimpsest 0.1.0",
        description = "Edit and unlearn the knowledge of large language models.",
        subcommands = {ScoreCommand.class, GenerateCommand.class, WorldCommand.class, ModelCommand.class, FinetuneCommand.class, EvalCommand.class, DemoCommand.class, ExperimentCommand.class, UpdateCommand.class, MethodsCommand.class, TraceCommand.class, AnalyzeCommand.class,
                BenchCommand.class})
public final class Main implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the CLI with the given streams and returns the exit code (0 ok, 1 internal error, 2 bad input). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(out);
        cli.setErr(err);
        cli.setParameterExceptionHandler((ex, a) -> {
            err.println("palimpsest: " + ex.getMessage() + " (see --help)");
            return 2;
        });
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            Throwable cause = ex;
            while (!(cause instanceof UserError) && cause.getCause() != null && cause.getCause() != cause)
                cause = cause.getCause();
            if (cause instanceof UserError) {
                err.println("palimpsest: " + oneLine(cause.getMessage()));
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

    static String oneLine(String s) {
        if (s == null) return "";
        int i = s.indexOf('\n');
        return (i < 0 ? s : s.substring(0, i)).strip();
    }
}
