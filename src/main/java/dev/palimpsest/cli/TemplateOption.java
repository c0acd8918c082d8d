package dev.palimpsest.cli;

import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.QuestionFormat;
import picocli.CommandLine.Option;

/** {@code --prompt-template T}: how questions are put to the model, winning over its chat template. */
final class TemplateOption {
    @Option(names = "--prompt-template",
            description = "Question template with {question}, e.g. \"Question: {question}\\nAnswer:\"; wins over the model's chat template (default: the chat template, else the question as it is).")
    String template;

    @Option(names = "--system", paramLabel = "TEXT",
            description = "A system message before each question, in the model's chat template (default: none, or what the template itself adds).")
    String system;

    QuestionFormat format(LanguageModel m) {
        return QuestionFormat.of(m, template, system);
    }
}
