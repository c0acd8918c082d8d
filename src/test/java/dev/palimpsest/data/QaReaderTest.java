package dev.palimpsest.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.palimpsest.UserError;

/** Fixtures in the real benchmarks' layouts (content of our own), good and bad. */
class QaReaderTest {
    @TempDir
    Path tmp;

    Path write(String name, String text) throws IOException {
        Path p = tmp.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    @Test
    void readsTofuPistolAndJsonLines() throws IOException {
        Path tofu = write("forget.json", """
                [{"question": "Who is the author born in Valmora?", "answer": "The author born in Valmora is Ilse Brandt.",
                  "paraphrased_question": "Which writer comes from Valmora?",
                  "perturbed_answer": ["It is Omar Test.", "It is Kai Sample."]}]""");
        List<QaItem> t = QaReader.read(tofu, DataFormat.TOFU);
        assertEquals("The author born in Valmora is Ilse Brandt.", t.get(0).answer());
        assertEquals(List.of("Which writer comes from Valmora?"), t.get(0).paraphrasedQuestions());
        assertEquals(2, t.get(0).perturbedAnswers().size());
        Path pistol = write("sample.json", """
                [{"question": "What was the effective date of the contract between Aaa SA and Bbb Ltd?", "answer": "06-02-1998.", "edge": "A_B"},
                 {"question": "Which jurisdiction's laws govern the contract between Aaa SA and Bbb Ltd?", "answer": "The State of Ohio.", "edge": "A_B"}]""");
        List<QaItem> p = QaReader.read(pistol, DataFormat.PISTOL);
        assertEquals(2, p.size());
        assertEquals("A_B", p.get(1).edge());
        Path jsonl = write("lines.jsonl", "{\"question\": \"q1?\", \"answer\": \"a1\"}\n\n{\"question\": \"q2?\", \"answer\": \"a2\"}\n");
        assertEquals(2, QaReader.read(jsonl, DataFormat.TOFU).size());
    }

    @Test
    void badRecordsNameFileRecordAndField() throws IOException {
        Path missing = write("m.json", "[{\"question\": \"q?\", \"answer\": \"a\"}, {\"question\": \"q2?\"}]");
        UserError e = assertThrows(UserError.class, () -> QaReader.read(missing, DataFormat.TOFU));
        assertEquals(missing + ": record 2: missing field 'answer'", e.getMessage());
        Path noEdge = write("p.json", "[{\"question\": \"q?\", \"answer\": \"a\"}]");
        e = assertThrows(UserError.class, () -> QaReader.read(noEdge, DataFormat.PISTOL));
        assertTrue(e.getMessage().endsWith("record 1: missing field 'edge'"), e.getMessage());
        Path badLine = write("b.jsonl", "{\"question\": \"q?\", \"answer\": \"a\"}\n{oops\n");
        e = assertThrows(UserError.class, () -> QaReader.read(badLine, DataFormat.TOFU));
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
        e = assertThrows(UserError.class, () -> QaReader.read(tmp.resolve("nope.json"), DataFormat.TOFU));
        assertTrue(e.getMessage().contains("no such file"), e.getMessage());
        Path empty = write("e.json", "[{\"question\": \"  \", \"answer\": \"a\"}]");
        e = assertThrows(UserError.class, () -> QaReader.read(empty, DataFormat.TOFU));
        assertTrue(e.getMessage().contains("field 'question' is empty"), e.getMessage());
    }
}
