package dev.palimpsest.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.node.ObjectNode;

class TokenizerTest {
    @TempDir
    Path tmp;

    Path dir(boolean addBos) throws IOException {
        return TinyModels.writeDir(tmp.resolve("m" + addBos), TinyModels.llamaConfig(),
                TinyModels.randomNet(TinyModels.llamaConfig(), 1), DType.F32, addBos);
    }

    @Test
    void bosOnlyWhereTheConfigAsksAndNoTruncation() throws IOException {
        ModelConfig cfg = TinyModels.parse(TinyModels.llamaConfig());
        try (Tokenizer with = Tokenizer.load(dir(true), cfg); Tokenizer without = Tokenizer.load(dir(false), cfg)) {
            assertArrayEquals(new long[] {1, 3, 4}, with.encodePrompt("the capital"));
            assertArrayEquals(new long[] {3, 4}, without.encodePrompt("the capital"));
            assertArrayEquals(new long[] {3, 4}, with.encode("the capital"));
            String longText = "the cat sat ".repeat(300);
            assertEquals(900, with.encode(longText).length, "the binding's default would truncate at 512");
            assertTrue(with.isEos(2));
            assertEquals("the capital", with.decode(new long[] {1, 3, 4, 2}));
        }
    }

    @Test
    void templateProcessingWithBosMeansAddBos() throws IOException {
        Path d = dir(true);
        ObjectNode tc = TinyModels.JSON.createObjectNode();
        tc.put("bos_token", "<s>");
        Files.writeString(d.resolve("tokenizer_config.json"), tc.toString());
        ObjectNode tj = (ObjectNode) TinyModels.JSON.readTree(TinyModels.wordLevelTokenizer());
        ObjectNode pp = tj.putObject("post_processor");
        pp.put("type", "TemplateProcessing");
        pp.putArray("single").addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        pp.withArray("single").addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pp.set("pair", pp.get("single").deepCopy());
        ObjectNode st = pp.putObject("special_tokens").putObject("<s>");
        st.put("id", "<s>");
        st.putArray("ids").add(1);
        st.putArray("tokens").add("<s>");
        Files.writeString(d.resolve("tokenizer.json"), tj.toString());
        try (Tokenizer t = Tokenizer.load(d, TinyModels.parse(TinyModels.llamaConfig()))) {
            assertTrue(t.addsBos());
            assertArrayEquals(new long[] {1, 3}, t.encodePrompt("the"));
        }
    }

    @Test
    void chatTemplateComesFromTokenizerConfig() throws IOException {
        Path d = dir(false);
        ObjectNode tc = TinyModels.JSON.createObjectNode();
        tc.put("eos_token", "</s>");
        tc.put("chat_template", "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}{% endfor %}");
        Files.writeString(d.resolve("tokenizer_config.json"), tc.toString());
        try (LanguageModel m = LanguageModel.load(d)) {
            assertTrue(m.tokenizer().chatTemplate().present());
            assertEquals("<|im_start|>user\nWho?", m.questionFormat().prompt("Who?"));
            assertFalse(m.tokenizer().addsBos());
        }
    }
}
