package dev.palimpsest.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import dev.palimpsest.UserError;
import dev.palimpsest.io.Json;
import dev.palimpsest.model.Generator;
import dev.palimpsest.model.LanguageModel;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Greedy continuation of a prompt (KV cache), stopping at EOS or after --max-new-tokens.")
final class GenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption model;

    @Mixin
    PromptOptions prompt;

    @Option(names = "--max-new-tokens", defaultValue = "64", description = "Token budget (default ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--json", description = "Print one JSON object {\"text\": ..., \"tokens\": [...]}.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (maxNewTokens < 1) throw new UserError("--max-new-tokens must be at least 1, got " + maxNewTokens);
        var out = spec.commandLine().getOut();
        try (LanguageModel m = model.load()) {
            String p = prompt.text(m);
            Generator.Generation g = Generator.greedy(m, List.of(p), maxNewTokens, 1).get(0);
            if (json) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("text", g.text());
                o.put("tokens", g.tokens());
                out.println(Json.MAPPER.writeValueAsString(o));
            } else {
                out.println(g.text());
            }
        }
        return 0;
    }
}
