package dev.palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The main job as a user runs it: a real process on the default model (built once per test run). */
class DemoCliTest {
    @TempDir
    Path tmp;

    @Test
    void runsTheChosenMethodsOnBothSettingsAndWritesTheReport() throws Exception {
        Path out = tmp.resolve("run");
        CliProcess.Result r = CliProcess.run(tmp.resolve("logs"), "demo", "--methods", "none,gd", "--sizes", "4", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        for (String row : new String[] {"| none |", "| gd |"}) assertTrue(r.out().contains(row), row + " in\n" + r.out());
        assertTrue(r.out().contains("pretrained knowledge") && r.out().contains("finetuned knowledge"), r.out());
        for (String f : new String[] {"report.md", "results.csv", "results.jsonl"}) assertTrue(Files.isRegularFile(out.resolve(f)), f);
        // Every method's rows are in the machine-readable results too.
        String csv = Files.readString(out.resolve("results.csv"));
        for (String method : new String[] {"none", "gd"})
            assertTrue(csv.lines().anyMatch(l -> l.contains(method) && l.contains("forget")), method + " in\n" + csv);
    }

    @Test
    void anUnknownMethodIsOneLineBeforeAnyWork() throws Exception {
        String err = oneLineBeforeAnyWork("demo", "--methods", "none,nonsense");
        assertTrue(err.contains("unknown method 'nonsense'"), err);
    }

    @Test
    void repeatedSplitSeedsAreOneLineBeforeAnyWork() throws Exception {
        String err = oneLineBeforeAnyWork("demo", "--task", "combined", "--split-seeds", "1,1");
        assertTrue(err.contains("--split-seeds must list distinct seeds"), err);
    }

    @Test
    void moreHarmfulRequestsThanTheSafetySetHoldsIsOneLineBeforeAnyWork() throws Exception {
        String err = oneLineBeforeAnyWork("demo", "--task", "safety", "--forgets", "99");
        assertTrue(err.contains("--forgets") && err.contains("20 harmful requests"), err);
    }

    /** Runs the command with --out, expects exit 2 with one line on stderr and no run folder; returns that line. */
    private String oneLineBeforeAnyWork(String... args) throws Exception {
        String[] all = java.util.Arrays.copyOf(args, args.length + 2);
        all[args.length] = "--out";
        all[args.length + 1] = tmp.resolve("x").toString();
        CliProcess.Result r = CliProcess.run(tmp.resolve("logs"), all);
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(!Files.exists(tmp.resolve("x")), "no run folder is left");
        return r.err();
    }
}
