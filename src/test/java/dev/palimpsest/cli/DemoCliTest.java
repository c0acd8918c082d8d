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
        CliProcess.Result r = CliProcess.run(tmp.resolve("logs"), "demo", "--methods", "none,nonsense", "--out", tmp.resolve("x").toString());
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("unknown method 'nonsense'"), r.err());
        assertTrue(!Files.exists(tmp.resolve("x")), "no run folder is left");
    }

    @Test
    void repeatedSplitSeedsAreOneLineBeforeAnyWork() throws Exception {
        CliProcess.Result r = CliProcess.run(tmp.resolve("logs"), "demo", "--task", "combined", "--split-seeds", "1,1", "--out", tmp.resolve("x").toString());
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("--split-seeds must list distinct seeds"), r.err());
        assertTrue(!Files.exists(tmp.resolve("x")), "no run folder is left");
    }

    @Test
    void moreHarmfulRequestsThanTheSafetySetHoldsIsOneLineBeforeAnyWork() throws Exception {
        CliProcess.Result r = CliProcess.run(tmp.resolve("logs"), "demo", "--task", "safety", "--forgets", "99", "--out", tmp.resolve("x").toString());
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("--forgets") && r.err().contains("20 harmful requests"), r.err());
        assertTrue(!Files.exists(tmp.resolve("x")), "no run folder is left");
    }
}
