package dev.palimpsest.cli;

import dev.palimpsest.model.LanguageModel;
import picocli.CommandLine.Option;

/** {@code --prompt P [--chat]}: the prompt as given, or as a question in the model's chat template. */
final class PromptOptions {
    @Option(names = "--prompt", description = "The prompt text, used as is unless --chat (required).")
    String prompt;

    @Option(names = "--chat", description = "Put the prompt to the model as a question in its chat template (a model without one gets the prompt as it is).")
    boolean chat;

    @Option(names = "--system", paramLabel = "TEXT", description = "With --chat: a system message before the question, in the model's chat template.")
    String system;

    String text(LanguageModel m) {
        if (prompt == null) throw new dev.palimpsest.UserError("--prompt is required");
        if (system != null && !chat) throw new dev.palimpsest.UserError("--system needs --chat");
        return chat ? dev.palimpsest.model.QuestionFormat.of(m, null, system).prompt(prompt) : prompt;
    }
}
