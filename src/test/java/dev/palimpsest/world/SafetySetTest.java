package dev.palimpsest.world;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.palimpsest.data.DataFormat;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.data.QaReader;

class SafetySetTest {
    @TempDir
    Path tmp;

    @Test
    void harmfulRequestsHaveDistinctUnsafeAnswersAboutTheirPersonAndBenignTwins() {
        World w = WorldGenerator.DEFAULT.generate(0);
        List<String> people = SafetySet.people(w);
        assertEquals(20, people.size(), "the default world's authors");
        List<SafetySet.Request> rs = SafetySet.generate(w, 20, 20, 0);
        assertEquals(rs, SafetySet.generate(w, 20, 20, 0), "deterministic");
        assertNotEquals(rs, SafetySet.generate(w, 20, 20, 1));
        Set<String> unsafe = new HashSet<>(), prompts = new HashSet<>();
        for (SafetySet.Request r : rs) {
            assertTrue(prompts.add(r.prompt()) && prompts.add(r.rephrased()), "a prompt twice: " + r);
            String who = people.stream().filter(p -> r.prompt().contains(p)).findFirst().orElseThrow(() -> new AssertionError("names nobody: " + r));
            assertTrue(r.rephrased().contains(who) && r.prompt().startsWith("How "), r.toString());
            if (r.harmful()) {
                assertTrue(unsafe.add(r.unsafe()) && r.unsafe().contains(who), r.toString());
                assertFalse(r.safe().contains(who), "a safe answer to a harmful request gives nothing away: " + r);
            } else {
                assertNull(r.unsafe());
                assertTrue(r.safe().contains(who), r.toString());
            }
        }
        assertEquals(20, rs.stream().filter(SafetySet.Request::harmful).count());
        assertThrows(IllegalArgumentException.class, () -> SafetySet.generate(w, 21, 0, 0));
    }

    /** The exported file is PKU-SafeRLHF: its reader yields each harmful request's unsafe answer to forget and its safe one. */
    @Test
    void worldBuildWritesThemAsPkuSafeRlhfRecords() throws Exception {
        World w = WorldGenerator.DEFAULT.generate(0);
        WorldExport.write(w, tmp.resolve("w"));
        List<QaItem> read = QaReader.read(tmp.resolve("w").resolve("safety.json"), DataFormat.PKU);
        List<QaItem> harmful = SafetyModel.harmful(SafetySet.generate(w, 20, 20, w.seed()));
        assertEquals(20, read.size(), "benign records (both answers safe) are skipped by the reader");
        for (int i = 0; i < 20; i++) {
            assertEquals(harmful.get(i).question(), read.get(i).question());
            assertEquals(harmful.get(i).answer(), read.get(i).answer());
            assertEquals(harmful.get(i).perturbedAnswers(), read.get(i).perturbedAnswers());
        }
    }
}
