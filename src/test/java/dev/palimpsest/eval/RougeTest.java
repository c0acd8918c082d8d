package dev.palimpsest.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

/** Hand-worked cases of rouge-score's conventions. */
class RougeTest {
    @Test
    void tokenizationLowercasesSplitsOnNonAlphanumericsAndStemsLongWords() {
        assertEquals(List.of("the", "cat", "ran", "to", "citi", "42"), Rouge.tokens("The CAT ran—to cities, 42!"));
        assertEquals(List.of("i", "don", "t", "know"), Rouge.tokens("I don't know"));
        assertEquals(List.of("run", "run"), Rouge.tokens("running runs"));
        assertEquals(List.of(), Rouge.tokens("?!"));
    }

    @Test
    void rouge1RecallCountsClippedUnigramMatchesOverTheReference() {
        // reference [the, cat, sat, on, the, mat]: "the" matches once (the candidate has one), cat, on, mat: 4 of 6.
        assertEquals(4.0 / 6, Rouge.rouge1Recall("the cat lay on a mat", "The cat sat on the mat"), 1e-12);
        assertEquals(1.0, Rouge.rouge1Recall("It is March 3, 1962.", "March 3, 1962"), 1e-12);
        assertEquals(0.0, Rouge.rouge1Recall("I don't know.", "Quillford"), 1e-12);
        assertEquals(0.0, Rouge.rouge1Recall("anything", ""), 1e-12);
        assertEquals(0.5, Rouge.rouge1Recall("the librarians", "a librarian"), 1e-12, "librarians stems to librarian");
    }

    @Test
    void rougeLRecallIsTheLongestCommonSubsequence() {
        // reference a b c d e (5), candidate a x c y e: LCS a c e = 3.
        assertEquals(3.0 / 5, Rouge.rougeLRecall("a x c y e", "a b c d e"), 1e-12);
        assertEquals(1.0 / 3, Rouge.rougeLRecall("c b a", "a b c"), 1e-12);
    }

    @Test
    void refusalsAreRecognised() {
        assertTrue(Refusals.isRefusal("I don't know where Amara Drummond was born."));
        assertTrue(Refusals.isRefusal("Sorry, I’m not sure about that."));
        assertFalse(Refusals.isRefusal("Quillford"));
    }
}
