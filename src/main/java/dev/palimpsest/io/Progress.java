package dev.palimpsest.io;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress bars on stderr for every loop a person waits for. They are drawn only when stderr is a
 * terminal, and each erases itself when it closes, so a log or an error message never carries bar
 * lines. The system property {@code palimpsest.progress} overrides: {@code off} (the tests) or {@code on}.
 * {@link #note} lines are printed whenever bars could be (not with {@code off}).
 */
public final class Progress {
    private Progress() {}

    private static final AtomicInteger OPEN = new AtomicInteger();
    private static final boolean DRAW = draw();

    public static ProgressBar bar(String task, long max) {
        ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(task).setInitialMax(max)
                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500).showSpeed();
        if (DRAW) b.setConsumer(new ErasingConsumer(System.err));
        else b.setConsumer(new DelegatingProgressBarConsumer(s -> { }));
        return b.build();
    }

    /** One line of information about a long step (stderr), silent like the bars. */
    public static void note(String line) {
        if (!"off".equals(System.getProperty("palimpsest.progress"))) {
            clearLine();
            System.err.println(line);
        }
    }

    /** Erases a bar that is on screen, so that what is printed next starts on a clean line. */
    public static void clearLine() {
        if (DRAW && OPEN.get() > 0) {
            System.err.print("\r\033[K");
            System.err.flush();
        }
    }

    private static boolean draw() {
        String p = System.getProperty("palimpsest.progress", "auto");
        if (p.equals("off")) return false;
        if (p.equals("on")) return true;
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (Exception e) {
            return System.console() != null;
        }
    }

    /** Draws on one line and leaves the line empty when the bar is done. */
    private static final class ErasingConsumer extends ConsoleProgressBarConsumer {
        private final PrintStream stream;

        ErasingConsumer(PrintStream stream) {
            super(stream);
            this.stream = stream;
            OPEN.incrementAndGet();
        }

        @Override
        public void close() {
            stream.print("\r\033[K");
            stream.flush();
            OPEN.decrementAndGet();
        }
    }
}
