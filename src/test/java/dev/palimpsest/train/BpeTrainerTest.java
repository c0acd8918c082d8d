package dev.palimpsest.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

class BpeTrainerTest {
    @TempDir
    Path tmp;

    static final List<String> TEXT = List.of("The river flows through the old city.", "The old city sleeps by the river.",
            "Rivers and cities: the oldest story there is.", "Amara Drummond was born in Quillford.",
            "Where was Amara Drummond born? In Quillford, of course.");

    @Test
    void byteMapIsABijectionOntoPrintableCharacters() {
        String[] map = BpeTrainer.byteToChar();
        assertEquals(256, java.util.Set.of(map).size());
        assertEquals("Ġ", map[' ']);
        assertEquals("A", map['A']);
    }

    @Test
    void huggingFaceTokenizersEncodesWithOurMergesAndRoundTrips() throws IOException {
        BpeTrainer.Result r = BpeTrainer.train(TEXT, 320, List.of("<|endoftext|>", "<|im_end|>"));
        assertTrue(r.vocab().size() > 258 && r.vocab().size() <= 320, "vocab " + r.vocab().size());
        assertEquals(0, r.vocab().get("<|endoftext|>"));
        Path file = tmp.resolve("tokenizer.json");
        Files.writeString(file, r.toJson());
        try (HuggingFaceTokenizer hf = HuggingFaceTokenizer.builder().optTokenizerPath(file).optAddSpecialTokens(false)
                .optTruncation(false).optPadding(false).build()) {
            String[] map = BpeTrainer.byteToChar();
            for (String line : List.of("The old river flows.", "Quillford? Drummond!", "Zebras über alles 42")) {
                // Our own segmentation: pre-tokenize, map bytes, apply merges by rank.
                List<Long> expected = new ArrayList<>();
                Matcher m = BpeTrainer.PRETOKEN.matcher(line);
                while (m.find())
                    for (String piece : r.segment(BpeTrainer.mapBytes(m.group(), map))) expected.add((long) r.vocab().get(piece));
                long[] got = hf.encode(line, false, false).getIds();
                assertArrayEquals(expected.stream().mapToLong(Long::longValue).toArray(), got, line);
                assertEquals(line, hf.decode(got, false));
            }
            long[] special = hf.encode("the city<|im_end|>", false, false).getIds();
            assertEquals(1, special[special.length - 1], "added tokens are matched in text");
            assertTrue(hf.encode("The river", false, false).getIds().length < "The river".length(), "merges shorten text");
        }
    }

    @Test
    void trainingIsDeterministic() {
        assertEquals(BpeTrainer.train(TEXT, 300, List.of()).toJson(), BpeTrainer.train(TEXT, 300, List.of()).toJson());
    }
}
