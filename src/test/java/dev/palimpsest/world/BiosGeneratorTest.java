package dev.palimpsest.world;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.palimpsest.data.DataFormat;
import dev.palimpsest.data.EditItem;
import dev.palimpsest.data.EditReader;
import dev.palimpsest.data.QaReader;
import dev.palimpsest.eval.Refusals;
import dev.palimpsest.request.SelfImprovement;

/** The bios world's promises: what is taught, what is only in biographies, what is held out. */
class BiosGeneratorTest {
    static final BiosGenerator.Sizes SMALL = new BiosGenerator.Sizes(20, 6, 3, 4, 2, 3, 2, 10);

    @TempDir
    Path tmp;

    @Test
    void sameSeedSameWorldOtherSeedOtherWorld() {
        assertEquals(BiosGenerator.generate(1, SMALL), BiosGenerator.generate(1, SMALL));
        assertNotEquals(BiosGenerator.generate(1, SMALL).corpus(), BiosGenerator.generate(2, SMALL).corpus());
    }

    @Test
    void halfTheEntitiesAreTaughtAsQuestionsTheOtherHalfOnlyInBiographies() {
        World w = BiosGenerator.generate(0, BiosGenerator.DEFAULT);
        Set<String> taught = w.pretrain().stream().map(Fact::entity).collect(Collectors.toSet());
        Set<String> extracted = w.extraction().stream().map(Fact::entity).collect(Collectors.toSet());
        assertEquals(66, taught.size()); // 60 people + 6 companies
        assertEquals(taught.size(), extracted.size());
        assertTrue(java.util.Collections.disjoint(taught, extracted));
        Map<String, List<String>> bios = new java.util.HashMap<>();
        for (String line : w.corpus())
            for (String e : extracted) if (line.startsWith(e) && line.split("\\. ").length > 2) bios.computeIfAbsent(e, k -> new java.util.ArrayList<>()).add(line);
        for (Fact f : w.extraction()) {
            assertEquals(Split.EXTRACTION, f.split());
            List<String> own = bios.get(f.entity());
            assertEquals(BiosGenerator.DEFAULT.biographies(), own.size(), f.entity());
            // Every biography states every fact of its entity, naming the entity in each sentence.
            for (String b : own) assertTrue(b.contains(f.answer()), b + " / " + f.answer());
        }
        // Biographies of one entity differ in wording or order.
        for (List<String> own : bios.values()) assertTrue(new HashSet<>(own).size() > 1, own.toString());
    }

    @Test
    void wordingsSetHowManySentencesStateOneFact() {
        for (int wordings : new int[] {1, 4, BiosGenerator.WORDINGS}) {
            World w = BiosGenerator.generate(0, new BiosGenerator.Sizes(20, 6, 12, wordings, 2, 3, 2, 0));
            Fact f = w.extraction().stream().filter(x -> x.relation().equals("born_in")).findFirst().orElseThrow();
            // Each biography of the entity states its birthplace in one sentence; count the distinct ones.
            Set<String> said = new HashSet<>();
            for (String line : w.corpus())
                if (line.startsWith(f.entity()) && line.split("\\. ").length > 2)
                    for (String sentence : line.split("(?<=\\.) ")) if (sentence.contains(f.answer())) said.add(sentence);
            assertTrue(said.size() >= 1 && said.size() <= wordings, wordings + ": " + said);
            if (wordings == BiosGenerator.WORDINGS) assertTrue(said.size() > 4, said.toString());
        }
        assertThrows(IllegalArgumentException.class, () -> new BiosGenerator.Sizes(20, 6, 3, BiosGenerator.WORDINGS + 1, 2, 3, 2, 0));
    }

    @Test
    void heldOutQuestionFormsAndEntitiesAreNeverTaught() {
        World w = BiosGenerator.generate(0, BiosGenerator.DEFAULT);
        Set<String> taughtText = new HashSet<>();
        for (Fact f : w.pretrain()) taughtText.addAll(w.taughtForms(f));
        for (Fact f : w.unseen()) taughtText.addAll(w.taughtForms(f));
        for (World.Lesson l : w.lessons()) {
            taughtText.add(l.prompt());
            taughtText.add(l.answer());
        }
        String lessons = String.join("\n", taughtText);
        for (Fact f : w.pretrain()) {
            assertEquals(BiosGenerator.TAUGHT_FORMS, w.taughtForms(f).size());
            String heldOut = f.paraphrases().get(f.paraphrases().size() - 1);
            assertFalse(lessons.contains(heldOut), "held-out paraphrase taught: " + heldOut);
        }
        for (Fact f : w.extraction()) assertFalse(lessons.contains(f.entity()), "extraction entity in a lesson or question: " + f.entity());
        for (Fact f : w.unseenHeldOut()) assertFalse(lessons.contains(f.entity()) || String.join("\n", w.corpus()).contains(f.entity()));
    }

    @Test
    void lessonsTeachTheSelfImprovementFormatWithRefusalsThatPassItsCheck() {
        World w = BiosGenerator.generate(0, SMALL);
        List<World.Lesson> refusals = w.lessons().stream().filter(l -> l.task().equals("refusal")).toList();
        assertEquals(2 * SMALL.people(), refusals.size());
        int selfImprovementPrompts = 0;
        for (World.Lesson l : refusals) {
            assertTrue(l.prompt().startsWith(SelfImprovement.prompt("", 0).strip().split("\n")[0]), l.prompt());
            String q = l.prompt().substring(l.prompt().lastIndexOf("Question: ") + 10);
            assertTrue(Refusals.isRefusal(l.answer()), l.answer());
            assertTrue(SelfImprovement.acceptable(q, "nothing", l.answer()), q + " -> " + l.answer());
            for (int k = 0; k <= 3; k++) if (l.prompt().equals(SelfImprovement.prompt(q, k))) selfImprovementPrompts++;
        }
        // Half are the very prompt self-improvement sends (its own worked examples; so are world lessons with none),
        // the others show worked examples from this world.
        assertTrue(selfImprovementPrompts >= SMALL.people() && selfImprovementPrompts < refusals.size(), "" + selfImprovementPrompts);
        // One refusal lesson per person is about someone the world does not have, whose name must be copied.
        Set<String> entities = w.all().stream().map(Fact::entity).collect(Collectors.toSet());
        long invented = refusals.stream().filter(l -> entities.stream().noneMatch(l.answer()::contains)).count();
        assertEquals(SMALL.people(), invented);
    }

    @Test
    void exportsEveryFormatAndTheCounterfactsReadBack() throws IOException {
        World w = BiosGenerator.generate(0, SMALL);
        WorldExport.write(w, tmp.resolve("w"));
        assertEquals(w.extraction().size(), QaReader.read(tmp.resolve("w/extraction.json"), DataFormat.WORLD).size());
        List<EditItem> edits = EditReader.read(tmp.resolve("w/counterfact.json"), DataFormat.COUNTERFACT);
        assertEquals(w.pretrain().size(), edits.size());
        for (EditItem e : edits) {
            assertTrue(e.prompt().contains(e.subject()));
            assertNotEquals(e.target(), e.groundTruth());
            assertFalse(e.localityPrompts().get(0).contains(e.subject()), e.localityPrompts().toString());
        }
    }

    @Test
    void buildDefaultBuildsAChangedBiosRecipeIntoAFolderAndReportsExtraction() throws IOException {
        Path out = tmp.resolve("bios");
        var run = dev.palimpsest.cli.CliHarness.run("model", "build-default", "--world", "bios", "--out", out.toString(), "--set",
                "people=8,companies=4,biographies=2,mentions=4,vocab=300,hidden=32,layers=2,heads=2,intermediate=64,epochs=2,corpus_epochs=1,question_lr=1e-3");
        assertEquals(0, run.code(), run.err());
        assertTrue(run.err().contains("facts seen only in the corpus"), run.err());
        var build = new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.resolve("build.json").toFile());
        double extraction = build.get("extractionRouge1").asDouble(-1), drafts = build.get("refusalDrafts").asDouble(-1);
        assertTrue(extraction >= 0 && extraction <= 1, build.toString());
        assertTrue(drafts >= 0 && drafts <= 1, build.toString());
        assertTrue(java.nio.file.Files.isRegularFile(out.resolve("model/config.json")));
        assertEquals(4 * 6 + 2 * 3, QaReader.read(out.resolve("world/extraction.json"), DataFormat.WORLD).size()); // half of 8 people, half of 4 companies
        var cached = dev.palimpsest.cli.CliHarness.run("model", "build-default", "--world", "bios", "--set", "layers=2");
        assertEquals(2, cached.code(), "a changed recipe never goes into the cache");
        assertTrue(cached.err().contains("--out"), cached.err());
        var bad = dev.palimpsest.cli.CliHarness.run("model", "build-default", "--world", "bios", "--out", tmp.resolve("b2").toString(),
                "--set", "people=x");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("people must be a number"), bad.err());
        var order = dev.palimpsest.cli.CliHarness.run("model", "build-default", "--world", "bios", "--out", tmp.resolve("b3").toString(),
                "--set", "epochs=3,corpus_epochs=3");
        assertEquals(2, order.code());
        assertTrue(order.err().contains("corpus_epochs (3) must be fewer than its epochs (3)"), order.err());
    }
}
