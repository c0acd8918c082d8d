package dev.palimpsest.cli;

import dev.palimpsest.model.LanguageModel;
import picocli.CommandLine.Option;

/** {@code --prompt P [--chat]}: the prompt as given, or as a question in the model's chat template. */
final class PromptOptions {
    @Option(names = "--prompt", required = true, description = "The prompt text, used as is unless --chat.")
    String prompt;

    @Option(names = "--chat", description = "Put the prompt to the model as a question: its chat template, else \"Question: ...\\nAnswer:\".")
    boolean chat;

    String text(LanguageModel m) {
        return chat ? m.questionFormat().prompt(prompt) : prompt;
    }
}
