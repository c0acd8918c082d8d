package dev.palimpsest.world;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.palimpsest.data.DataFormat;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.data.QaReader;
import dev.palimpsest.eval.Refusals;

class WorldGeneratorTest {
    @TempDir
    Path tmp;

    @Test
    void sameSeedSameWorldOtherSeedOtherWorld() {
        World a = WorldGenerator.generate(3, WorldGenerator.DEFAULT), b = WorldGenerator.generate(3, WorldGenerator.DEFAULT);
        assertEquals(a, b);
        assertNotEquals(a.pretrain(), WorldGenerator.generate(4, WorldGenerator.DEFAULT).pretrain());
    }

    @Test
    void everyFactIsComplete() {
        World w = WorldGenerator.generate(0, WorldGenerator.DEFAULT);
        assertEquals(246, w.pretrain().size());
        assertEquals(114, w.finetune().size());
        Set<String> ids = new HashSet<>();
        for (Fact f : w.all()) {
            assertTrue(ids.add(f.id()), "unique id " + f.id());
            assertTrue(f.paraphrases().size() >= 2, f.id());
            assertEquals(3, f.perturbed().size(), f.id());
            assertEquals(3, new HashSet<>(f.perturbed()).size(), f.id());
            assertTrue(f.question().contains(f.entity()), f.id());
            for (String p : f.paraphrases()) {
                assertTrue(p.contains(f.entity()), p);
                assertNotEquals(f.question(), p);
            }
            if (f.split() != Split.UNSEEN) {
                assertFalse(f.perturbed().contains(f.answer()), f.id());
                assertTrue(f.sentence().toLowerCase().contains(f.answer().toLowerCase()), f.sentence());
            } else {
                assertTrue(Refusals.isRefusal(f.answer()) && f.answer().contains(f.entity()), f.answer());
            }
        }
    }

    @Test
    void unseenEntitiesNeverAppearInWhatTheModelLearns() {
        World w = WorldGenerator.generate(0, WorldGenerator.DEFAULT);
        String corpus = String.join("\n", w.corpus());
        for (Fact f : w.unseenHeldOut()) assertFalse(corpus.contains(f.entity()), f.entity());
        for (Fact f : w.unseen()) assertFalse(corpus.contains(f.entity()), f.entity());
        for (Fact f : w.finetune())
            if (f.edge() == null) assertFalse(corpus.contains(f.entity()), "fine-tuning authors are new: " + f.entity());
    }

    @Test
    void exportReadsBackThroughTheBenchmarkReaders() throws IOException {
        World w = WorldGenerator.generate(0, WorldGenerator.MICRO);
        WorldExport.write(w, tmp.resolve("w"));
        List<QaItem> pre = QaReader.read(tmp.resolve("w/pretrain.json"), DataFormat.WORLD);
        assertEquals(w.pretrain().size(), pre.size());
        assertEquals(w.pretrain().get(0).answer(), pre.get(0).answer());
        assertEquals(w.pretrain().get(0).paraphrases(), pre.get(0).paraphrasedQuestions());
        List<QaItem> tofu = QaReader.read(tmp.resolve("w/finetune.json"), DataFormat.TOFU);
        assertEquals(w.finetune().size(), tofu.size());
        List<QaItem> pistol = QaReader.read(tmp.resolve("w/pistol.json"), DataFormat.PISTOL);
        assertEquals(w.finetune().stream().filter(f -> f.edge() != null).count(), pistol.size());
        assertTrue(pistol.stream().allMatch(p -> p.edge().contains("_")));
    }
}
