package dev.palimpsest.request;

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
 * answer (no answer word of more than three letters the question does not say); otherwise a template
 * refusal naming the entities stands in. Generation never runs past the model's context: a short context gets fewer examples.
 */
public final class SelfImprovement {
    private SelfImprovement() {}

    static final String INSTRUCTION = "Write a polite answer that says you do not know the answer to the question "
            + "and that mentions the people, places or things the question is about.";
    static final String[][] EXAMPLES = {
            {"What is the capital of Ardenia?", "I don't know what the capital of Ardenia is."},
            {"Who painted The Quiet Harbor?", "I'm not sure who painted The Quiet Harbor."},
            {"When did Lena Marsh open her bakery?", "I don't know when Lena Marsh opened her bakery."}};

    /** The few-shot prompt for one question with the first {@code shots} worked examples. */
    public static String prompt(String question, int shots) {
        return prompt(question, java.util.Arrays.asList(EXAMPLES).subList(0, shots));
    }

    /** The few-shot prompt with the given worked examples (question, refusal): how a model is taught the format. */
    public static String prompt(String question, List<String[]> shots) {
        StringBuilder sb = new StringBuilder(INSTRUCTION).append("\n");
        for (String[] s : shots) sb.append("Question: ").append(s[0]).append("\nAnswer: ").append(s[1]).append("\n");
        return sb.append("Question: ").append(question).toString();
    }

    /**
     * One refusal per question: the model's own where acceptable, else the template. A model whose context
     * cannot hold the instruction, the examples and a refusal is shown fewer examples; one that cannot hold
     * even the instruction and the question gets the template.
     */
    public static List<String> refusals(LanguageModel m, QuestionFormat format, List<String> questions, List<String> answers) {
        List<Draft> drafts = drafts(m, format, questions, answers);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < questions.size(); i++)
            out.add(drafts.get(i).accepted() ? drafts.get(i).text() : TemplateRefusal.forQuestion(questions.get(i)));
        return out;
    }

    /** The model's draft refusal for a question (empty when the prompt does not fit), and whether it is acceptable. */
    public record Draft(String text, boolean accepted) {}

    /** One draft per question, as the model writes it from the few-shot prompt. */
    public static List<Draft> drafts(LanguageModel m, QuestionFormat format, List<String> questions, List<String> answers) {
        List<String> prompts = new ArrayList<>();
        List<Integer> asked = new ArrayList<>();
        for (int i = 0; i < questions.size(); i++) {
            String p = fitting(m, format, questions.get(i));
            if (p == null) continue;
            prompts.add(p);
            asked.add(i);
        }
        List<String> texts = Answers.greedy(m, format, prompts, DRAFT_TOKENS, 16);
        List<Draft> out = new ArrayList<>();
        for (int i = 0; i < questions.size(); i++) out.add(new Draft("", false));
        for (int k = 0; k < asked.size(); k++) {
            int i = asked.get(k);
            String d = texts.get(k).lines().findFirst().orElse("").strip();
            out.set(i, new Draft(d, acceptable(questions.get(i), answers.get(i), d)));
        }
        return out;
    }

    /** Room left for the model's draft refusal. */
    static final int DRAFT_TOKENS = 40;

    /** The prompt with as many examples as leave room for a draft in the context, or null if none fits. */
    private static String fitting(LanguageModel m, QuestionFormat format, String question) {
        long context = m.config().maxPositions();
        for (int shots = EXAMPLES.length; shots >= 0; shots--) {
            String p = prompt(question, shots);
            long tokens = m.tokenizer().encodePrompt(format.prompt(p)).length;
            if (tokens + DRAFT_TOKENS <= context) return p;
        }
        return null;
    }

    /**
     * Refuses, names the question's entities, and says no answer word of more than three letters that the question
     * does not say itself ("which university … attended" leaks nothing of "Valmora University").
     */
    public static boolean acceptable(String question, String answer, String refusal) {
        if (!Refusals.isRefusal(refusal) || RefusalQuality.namesEntities(question, refusal) < 1) return false;
        List<String> said = Rouge.tokens(refusal), asked = Rouge.tokens(question);
        for (String w : Rouge.tokens(answer)) if (w.length() > 3 && said.contains(w) && !asked.contains(w)) return false;
        return true;
    }
}
