package dev.palimpsest.eval;

import java.util.ArrayList;
import java.util.List;

import dev.palimpsest.model.Generator;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.QuestionFormat;

/** Greedy answers to questions (in the model's question format) and the scores computed from them. */
public final class Answers {
    private Answers() {}

    public static List<String> greedy(LanguageModel m, QuestionFormat format, List<String> questions, int maxNewTokens,
            int batchSize) {
        List<String> prompts = new ArrayList<>();
        for (String q : questions) prompts.add(format.prompt(q));
        List<String> out = new ArrayList<>();
        for (Generator.Generation g : Generator.greedy(m, prompts, maxNewTokens, batchSize)) out.add(g.text().strip());
        return out;
    }

    public static double meanRouge1Recall(List<String> answers, List<String> references) {
        double s = 0;
        for (int i = 0; i < answers.size(); i++) s += Rouge.rouge1Recall(answers.get(i), references.get(i));
        return answers.isEmpty() ? 0 : s / answers.size();
    }

    public static double refusalRate(List<String> answers) {
        return answers.isEmpty() ? 0 : (double) answers.stream().filter(Refusals::isRefusal).count() / answers.size();
    }
}
