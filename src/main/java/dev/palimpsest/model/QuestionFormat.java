package dev.palimpsest.model;

import dev.palimpsest.UserError;

/**
 * How a question is put to a model and how its answer follows. A model with a chat template is asked in
 * it (with the system message, if one is given) and the answer follows the assistant cue as is. A base
 * model (no chat template) gets the question as it is, as EasyEdit puts edit prompts to base models;
 * {@code --prompt-template} puts it into a template with {@code {question}} instead (the
 * {@value #QA_TEMPLATE} wrapper, say). Without a chat template the answer follows after one space, so
 * that BPE vocabularies see the word-initial form they were trained on. An explicit template always wins. The answer is tokenized on its own and its ids appended
 * to the prompt's.
 */
public record QuestionFormat(ChatTemplate chat, String template, String system) {
    /** A base model's default: the question as it is. */
    public static final String DEFAULT_TEMPLATE = "{question}";
    /** The usual question-answer wrapper for base models, for {@code --prompt-template}. */
    public static final String QA_TEMPLATE = "Question: {question}\nAnswer:";

    public QuestionFormat(ChatTemplate chat, String template) {
        this(chat, template, null);
    }

    public static QuestionFormat of(LanguageModel m, String templateOverride) {
        return of(m, templateOverride, null);
    }

    /** As the options say: an explicit template, else the model's chat template (with {@code system}), else the default template. */
    public static QuestionFormat of(LanguageModel m, String templateOverride, String system) {
        if (templateOverride != null) {
            if (!templateOverride.contains("{question}"))
                throw new UserError("--prompt-template must contain {question}, got '" + templateOverride + "'");
            if (system != null) throw new UserError("--system goes into a chat template; --prompt-template has no place for it");
            return new QuestionFormat(null, templateOverride);
        }
        ChatTemplate c = m.tokenizer().chatTemplate();
        if (c.present()) return new QuestionFormat(c, null, system);
        if (system != null) throw new UserError("--system: this model has no chat template to put a system message in");
        return new QuestionFormat(null, DEFAULT_TEMPLATE);
    }

    public String prompt(String question) {
        return chat != null ? chat.render(system, question) : template.replace("{question}", question);
    }

    /** The ids of a question's prompt: BOS first where the tokenizer asks for it. */
    public long[] promptIds(Tokenizer tok, String question) {
        return tok.encodePrompt(prompt(question));
    }

    /** The ids of an answer as it follows the prompt, then the first EOS token: what a model is taught to say. */
    public long[] answerIds(Tokenizer tok, String answer) {
        long[] ids = tok.encode(answer(answer));
        if (tok.eosIds().isEmpty()) return ids;
        long[] out = java.util.Arrays.copyOf(ids, ids.length + 1);
        out[ids.length] = tok.eosIds().iterator().next();
        return out;
    }

    public String answer(String answer) {
        if (chat != null) return answer;
        boolean spaced = template.isEmpty() || Character.isWhitespace(template.charAt(template.length() - 1));
        return spaced || answer.startsWith(" ") ? answer : " " + answer;
    }
}
