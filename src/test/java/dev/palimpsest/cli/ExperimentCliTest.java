package dev.palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.palimpsest.model.DType;
import dev.palimpsest.model.TinyModels;

class ExperimentCliTest {
    @TempDir
    Path tmp;

    @Test
    void aSweepFromAConfigFileWritesTheReport() throws IOException {
        TinyModels.writeDir(tmp.resolve("m"), TinyModels.llamaConfig(), TinyModels.randomNet(TinyModels.llamaConfig(), 81),
                DType.F32, true);
        StringBuilder data = new StringBuilder("[");
        String[] words = {"red", "blue", "green", "one", "two", "three"};
        for (int i = 0; i < words.length; i++)
            data.append(i > 0 ? "," : "").append("{\"question\":\"the cat sat on the\",\"answer\":\"").append(words[i])
                    .append("\",\"paraphrased_question\":\"a cat sat on the\"}");
        Files.writeString(tmp.resolve("qa.json"), data.append("]").toString());
        Files.writeString(tmp.resolve("sweep.json"), """
                {"title": "tiny", "model": "m", "data": "qa.json", "format": "tofu", "methods": ["none", "ft"],
                 "forget_sizes": [2, 3], "settings": {"ft": {"epochs": "1"}}, "max_new_tokens": 2}""");
        CliRun r = CliRun.of("experiment", "--config", tmp.resolve("sweep.json").toString(), "--out", tmp.resolve("out").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("## tiny (3 forget samples)"), r.out());
        // 2 methods x 2 sizes x {forget, retain, rephrased}
        assertEquals(12, Files.readAllLines(tmp.resolve("out/results.jsonl")).size());
        assertTrue(Files.isRegularFile(tmp.resolve("out/tiny-score.png")));
    }

    @Test
    void badConfigsFailBeforeAnyWork() throws IOException {
        Files.writeString(tmp.resolve("bad.json"), """
                {"model": "default", "data": "default:pretrain", "format": "world", "methods": ["gx"], "forget_sizes": [5]}""");
        CliRun r = CliRun.of("experiment", "--config", tmp.resolve("bad.json").toString(), "--out", tmp.resolve("o").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown method 'gx'"), r.err());
        Files.writeString(tmp.resolve("bad2.json"), "{\"model\": \"m\", \"methods\": [\"none\"], \"forget_sizes\": [0]}");
        r = CliRun.of("experiment", "--config", tmp.resolve("bad2.json").toString(), "--out", tmp.resolve("o").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("'forget_sizes'"), r.err());
    }
}
