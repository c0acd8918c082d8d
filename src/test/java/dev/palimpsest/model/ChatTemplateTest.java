package dev.palimpsest.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import dev.palimpsest.UserError;

/**
 * The real chat templates of five instruct families (stored as their tokenizer_config.json fields under
 * src/test/resources/chat_templates), run as transformers' apply_chat_template runs them, against the strings
 * their documented formats give for the same messages. The leading BOS text is left to the tokenizer.
 */
class ChatTemplateTest {
    static final String Q = "What is the capital of France?", SYSTEM = "You are terse.";

    @BeforeEach
    void fixTheDate() {
        ChatTemplate.clock = Clock.fixed(Instant.parse("2026-12-02T10:00:00Z"), ZoneOffset.UTC);
    }

    @AfterEach
    void realClock() {
        ChatTemplate.clock = Clock.systemDefaultZone();
    }

    static ChatTemplate load(String name) throws IOException {
        Path p = Path.of("src/test/resources/chat_templates", name + ".json");
        JsonNode c = TinyModels.JSON.readTree(Files.readString(p));
        return ChatTemplate.of(c.get("chat_template").asText(), p.toString(), c.path("bos_token").asText(null), c.path("eos_token").asText(null));
    }

    @Test
    void llama32InstructWritesTheDateAndTheSystemMessageIntoItsSystemTurn() throws IOException {
        ChatTemplate t = load("llama-3.2-instruct");
        String head = "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 02 Dec 2026\n\n";
        String tail = "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n" + Q + "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
        assertEquals(head + tail, t.render(null, Q));
        assertEquals(head + SYSTEM + tail, t.render(SYSTEM, Q));
        assertEquals(head + tail, t.render(null, "  " + Q + "\n"), "the template trims the question");
    }

    @Test
    void qwen25InstructAddsItsOwnSystemMessageUnlessGivenOne() throws IOException {
        ChatTemplate t = load("qwen2.5-instruct");
        String turn = "<|im_start|>user\n" + Q + "<|im_end|>\n<|im_start|>assistant\n";
        assertEquals("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n" + turn, t.render(null, Q));
        assertEquals("<|im_start|>system\n" + SYSTEM + "<|im_end|>\n" + turn, t.render(SYSTEM, Q));
    }

    @Test
    void gemmaItRefusesASystemMessage() throws IOException {
        ChatTemplate t = load("gemma-it");
        assertEquals("<start_of_turn>user\n" + Q + "<end_of_turn>\n<start_of_turn>model\n", t.render(null, Q));
        UserError e = assertThrows(UserError.class, () -> t.render(SYSTEM, Q));
        assertTrue(e.getMessage().contains("System role not supported"), e.getMessage());
    }

    @Test
    void mistralInstructAndPhi3() throws IOException {
        ChatTemplate mistral = load("mistral-7b-instruct-v0.1");
        assertEquals("[INST] " + Q + " [/INST]", mistral.render(null, Q));
        assertTrue(assertThrows(UserError.class, () -> mistral.render(SYSTEM, Q)).getMessage().contains("roles must alternate"));
        ChatTemplate phi3 = load("phi-3-mini-instruct");
        assertEquals("<|user|>\n" + Q + "<|end|>\n<|assistant|>\n", phi3.render(null, Q));
        assertEquals("<|system|>\n" + SYSTEM + "<|end|>\n<|user|>\n" + Q + "<|end|>\n<|assistant|>\n", phi3.render(SYSTEM, Q));
    }

    /** Qwen3-style templates call Python's str methods and reverse lists with [::-1]. */
    @Test
    void pythonStringMethodsAndReversedSlicesWork() {
        ChatTemplate t = ChatTemplate.of("{%- set ns = namespace(last=0) %}{%- for m in messages[::-1] %}{%- if m.content.startswith('<think>') %}T{% endif %}"
                + "{{ m.role.upper() }}:{{ m.content.lstrip('<').rstrip().title() }}{% if m.content.endswith(' ') %}_{% endif %};{% endfor %}", "test", "", "");
        assertEquals("TUSER:Think> Ab Cd_;SYSTEM:S;", t.render("s", "<think> ab cd  "));
    }

    @Test
    void aTemplateThatCannotRunFailsNamingWhere() {
        UserError e = assertThrows(UserError.class, () -> ChatTemplate.of("{% for m in messages %}{{ m.content }}", "tokenizer_config.json", "", "").render(null, Q));
        assertTrue(e.getMessage().startsWith("tokenizer_config.json: the chat template cannot be rendered"), e.getMessage());
        assertFalse(ChatTemplate.of(null, "x", "", "").present());
    }
}
