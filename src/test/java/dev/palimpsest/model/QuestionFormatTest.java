package dev.palimpsest.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

import dev.palimpsest.UserError;

class QuestionFormatTest {
    @Test
    void plainTemplateSpacesTheAnswerChatTemplateDoesNot() {
        QuestionFormat plain = new QuestionFormat(null, QuestionFormat.DEFAULT_TEMPLATE);
        assertEquals("Question: Who?\nAnswer:", plain.prompt("Who?"));
        assertEquals(" Paris", plain.answer("Paris"));
        assertEquals(" Paris", plain.answer(" Paris"));
        QuestionFormat trailing = new QuestionFormat(null, "Q: {question}\nA: ");
        assertEquals("Paris", trailing.answer("Paris"));
        QuestionFormat chat = new QuestionFormat(ChatTemplate.of("<|im_start|>", "", ""), null);
        assertEquals("<|im_start|>user\nWho?<|im_end|>\n<|im_start|>assistant\n", chat.prompt("Who?"));
        assertEquals("Paris", chat.answer("Paris"));
    }

    @Test
    void anExplicitTemplateMustNameTheQuestion() {
        assertThrows(UserError.class, () -> QuestionFormat.of(null, "no placeholder"));
    }
}
