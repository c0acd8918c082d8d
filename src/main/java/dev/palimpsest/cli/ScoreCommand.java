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

import dev.palimpsest.io.Json;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.Scorer;

@Command(name = "score", mixinStandardHelpOptions = true,
        description = {"Log-probability of each target token given the prompt (teacher forcing).",
                "Prompt and target are tokenized separately and their ids concatenated; BOS is added before the prompt only where tokenizer_config.json asks for it."})
final class ScoreCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption model;

    @Mixin
    PromptOptions prompt;

    @Option(names = "--target", required = true, description = "The continuation to score (mind a leading space for BPE vocabularies).")
    String target;

    @Option(names = "--json", description = "Print one JSON object {\"target_tokens\": [...], \"logprobs\": [...]}.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        var out = spec.commandLine().getOut();
        try (LanguageModel m = model.load()) {
            String p = prompt.text(m);
            Scorer.Scored s = Scorer.score(m, List.of(p), List.of(target), 1).get(0);
            if (json) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("target_tokens", s.targetIds());
                o.put("logprobs", s.logprobs());
                out.println(Json.MAPPER.writeValueAsString(o));
            } else {
                out.printf("%-8s %-20s %12s %10s%n", "id", "token", "logprob", "prob");
                for (int i = 0; i < s.targetIds().length; i++) {
                    String text = m.tokenizer().decode(new long[] {s.targetIds()[i]});
                    out.printf("%-8d %-20s %12.6f %10.6f%n", s.targetIds()[i], quote(text), s.logprobs()[i],
                            Math.exp(s.logprobs()[i]));
                }
                out.printf("total logprob %.6f, per-token probability %.6f%n", s.sum(),
                        Math.exp(s.sum() / s.targetIds().length));
            }
        }
        return 0;
    }

    static String quote(String s) {
        return "'" + s.replace("\n", "\\n") + "'";
    }
}
