package dev.palimpsest.cli;

import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.QuestionFormat;
import picocli.CommandLine.Option;

/** {@code --prompt-template T}: how questions are put to the model, winning over its chat template. */
final class TemplateOption {
    @Option(names = "--prompt-template",
            description = "Question template with {question}; wins over the model's chat template (default: the chat template, else \"Question: {question}\\nAnswer:\").")
    String template;

    QuestionFormat format(LanguageModel m) {
        return QuestionFormat.of(m, template);
    }
}
