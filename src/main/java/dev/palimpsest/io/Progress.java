package dev.palimpsest.io;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress bars on stderr for every loop a person waits for. Silent when the system property
 * {@code palimpsest.progress} is {@code off} (the tests set it).
 */
public final class Progress {
    private Progress() {}

    public static ProgressBar bar(String task, long max) {
        ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(task).setInitialMax(max)
                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500).showSpeed();
        if ("off".equals(System.getProperty("palimpsest.progress"))) b.setConsumer(new DelegatingProgressBarConsumer(s -> { }));
        else b.setConsumer(new ConsoleProgressBarConsumer(System.err));
        return b.build();
    }

    /** One line of information about a long step (stderr), silent like the bars. */
    public static void note(String line) {
        if (!"off".equals(System.getProperty("palimpsest.progress"))) System.err.println(line);
    }
}
