package dev.palimpsest.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

import dev.palimpsest.UserError;

class QuestionFormatTest {
    @Test
    void plainTemplateSpacesTheAnswerChatTemplateDoesNot() {
        QuestionFormat raw = new QuestionFormat(null, QuestionFormat.DEFAULT_TEMPLATE);
        assertEquals("Who?", raw.prompt("Who?"));
        assertEquals(" Paris", raw.answer("Paris"));
        QuestionFormat plain = new QuestionFormat(null, QuestionFormat.QA_TEMPLATE);
        assertEquals("Question: Who?\nAnswer:", plain.prompt("Who?"));
        assertEquals(" Paris", plain.answer("Paris"));
        assertEquals(" Paris", plain.answer(" Paris"));
        QuestionFormat trailing = new QuestionFormat(null, "Q: {question}\nA: ");
        assertEquals("Paris", trailing.answer("Paris"));
        QuestionFormat chat = new QuestionFormat(ChatTemplate.of("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
                + "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}", "test", "", ""), null);
        assertEquals("<|im_start|>user\nWho?<|im_end|>\n<|im_start|>assistant\n", chat.prompt("Who?"));
        assertEquals("Paris", chat.answer("Paris"));
    }

    @Test
    void anExplicitTemplateMustNameTheQuestion() {
        assertThrows(UserError.class, () -> QuestionFormat.of(null, "no placeholder"));
    }
}
