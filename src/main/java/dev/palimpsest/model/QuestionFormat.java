package dev.palimpsest.model;

import dev.palimpsest.UserError;

/**
 * How a question is put to a model and how its answer follows. A model with a recognised chat template
 * is asked in that format and the answer follows the assistant cue as is. Otherwise the question goes
 * into a template with {@code {question}} (default {@value #DEFAULT_TEMPLATE}) and the answer follows
 * after one space, so that BPE vocabularies see the word-initial form they were trained on. An
 * explicit template always wins. The answer is tokenized on its own and its ids appended to the prompt's.
 */
public record QuestionFormat(ChatTemplate chat, String template) {
    public static final String DEFAULT_TEMPLATE = "Question: {question}\nAnswer:";

    public static QuestionFormat of(LanguageModel m, String templateOverride) {
        if (templateOverride != null) {
            if (!templateOverride.contains("{question}"))
                throw new UserError("--prompt-template must contain {question}, got '" + templateOverride + "'");
            return new QuestionFormat(null, templateOverride);
        }
        ChatTemplate c = m.tokenizer().chatTemplate();
        return c.format() != ChatTemplate.Format.PLAIN ? new QuestionFormat(c, null) : new QuestionFormat(null, DEFAULT_TEMPLATE);
    }

    public String prompt(String question) {
        return chat != null ? chat.render(question) : template.replace("{question}", question);
    }

    public String answer(String answer) {
        if (chat != null) return answer;
        boolean spaced = template.isEmpty() || Character.isWhitespace(template.charAt(template.length() - 1));
        return spaced || answer.startsWith(" ") ? answer : " " + answer;
    }
}
