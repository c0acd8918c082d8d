package dev.palimpsest.target;

import java.util.ArrayList;
import java.util.List;

import dev.palimpsest.eval.Answers;
import dev.palimpsest.eval.RefusalQuality;
import dev.palimpsest.eval.Refusals;
import dev.palimpsest.eval.Rouge;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.QuestionFormat;

/**
 * Self-improved refusals (the editing-as-unlearning paper's pipeline): the model itself is asked, with
 * an instruction and three worked examples, to write a refusal tailored to each forget question. A
 * refusal is accepted when it refuses, names every entity of the question, and does not contain the
 * answer (no answer word of more than three letters); otherwise a template refusal naming the entities
 * stands in.
 */
public final class SelfImprovement {
    private SelfImprovement() {}

    static final String INSTRUCTION = "Write a polite answer that says you do not know the answer to the question "
            + "and that mentions the people, places or things the question is about.";
    static final String[][] EXAMPLES = {
            {"What is the capital of Ardenia?", "I don't know what the capital of Ardenia is."},
            {"Who painted The Quiet Harbor?", "I'm not sure who painted The Quiet Harbor."},
            {"When did Lena Marsh open her bakery?", "I don't know when Lena Marsh opened her bakery."}};

    /** The few-shot prompt for one question (in the model's question format). */
    public static String prompt(String question) {
        StringBuilder sb = new StringBuilder(INSTRUCTION).append("\n");
        for (String[] e : EXAMPLES) sb.append("Question: ").append(e[0]).append("\nAnswer: ").append(e[1]).append("\n");
        return sb.append("Question: ").append(question).toString();
    }

    /** One refusal per question: the model's own where acceptable, else the template. */
    public static List<String> refusals(LanguageModel m, QuestionFormat format, List<String> questions, List<String> answers) {
        List<String> prompts = new ArrayList<>();
        for (String q : questions) prompts.add(prompt(q));
        List<String> drafts = Answers.greedy(m, format, prompts, 40, 16);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < questions.size(); i++) {
            String d = drafts.get(i).lines().findFirst().orElse("").strip();
            out.add(acceptable(questions.get(i), answers.get(i), d) ? d : TemplateRefusal.forQuestion(questions.get(i)));
        }
        return out;
    }

    public static boolean acceptable(String question, String answer, String refusal) {
        if (!Refusals.isRefusal(refusal) || RefusalQuality.namesEntities(question, refusal) < 1) return false;
        List<String> said = Rouge.tokens(refusal);
        for (String w : Rouge.tokens(answer)) if (w.length() > 3 && said.contains(w)) return false;
        return true;
    }
}
