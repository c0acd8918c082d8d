package dev.palimpsest.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import com.fasterxml.jackson.databind.JsonNode;

import dev.palimpsest.UserError;
import dev.palimpsest.data.DataFormat;
import dev.palimpsest.data.EditItem;
import dev.palimpsest.data.EditReader;
import dev.palimpsest.data.QaReader;
import dev.palimpsest.method.locate.CausalTrace;
import dev.palimpsest.model.Generator;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.report.Plots;

@Command(name = "trace", mixinStandardHelpOptions = true,
        description = {"Causal tracing: corrupt the subject's embeddings, restore one hidden state (layer x token) at a time,",
                "and show how much of the answer's probability each restores, as a table and a PNG heat map.",
                "With --facts: trace many facts (asked in the chat template; an answer's leading a/an/the/of join the prompt, so the traced",
                "token names the fact) and average by ROME's token groups, for hidden states",
                "and for MLP outputs (restored over --window layers), as two tables and a two-panel PNG."})
final class TraceCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption model;

    @Mixin
    PromptOptions prompt;

    @Option(names = "--subject", description = "The words of the prompt the fact is about (with --prompt).")
    String subject;

    @Option(names = "--facts", paramLabel = "FILE",
            description = "Facts to trace instead of --prompt: a world file (question and entity fields) or a zsre/counterfact file (prompt and subject).")
    Path facts;

    @Option(names = "--format", defaultValue = "world", description = "With --facts: world, zsre or counterfact (default ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "-n", defaultValue = "50", description = "With --facts: trace the first N facts the model answers (default ${DEFAULT-VALUE}).")
    int n;

    @Option(names = "--window", paramLabel = "W", description = "With --facts: layers the MLP panel restores around each layer (default: ROME's 10 of 48 layers, scaled; at least 1).")
    Integer window;

    @Option(names = "--out", paramLabel = "FILE", description = "PNG heat map (default trace.png; an existing file needs --overwrite).", defaultValue = "trace.png")
    Path out;

    @Mixin
    OverwriteOption overwrite;

    @Option(names = "--seed", defaultValue = "0")
    long seed;

    @Override
    public Integer call() throws Exception {
        if (facts != null) {
            if (prompt.prompt != null || subject != null) throw new UserError("--facts traces a file's facts: leave out --prompt and --subject");
            return traceFacts();
        }
        if (subject == null) throw new UserError("--subject is required with --prompt");
        var o = spec.commandLine().getOut();
        Path png = overwrite.file(out, model.dir);
        try (LanguageModel m = model.load()) {
            CausalTrace.Result r = CausalTrace.trace(m, prompt.text(m), subject, seed);
            o.printf("answer %s: p = %.4f clean, %.4f with the subject corrupted%n", ScoreCommand.quote(r.answer()), r.clean(), r.corrupted());
            o.printf("%-18s", "token \\ layer");
            for (int l = 0; l < r.restored().length; l++) o.printf("%8d", l);
            o.println();
            for (int t = 0; t < r.tokens().size(); t++) {
                o.printf("%-18s", ScoreCommand.quote(r.tokens().get(t)));
                for (int l = 0; l < r.restored().length; l++) o.printf("%8.3f", r.effect(l, t));
                o.println();
            }
            int layers = r.restored().length, tokens = r.tokens().size();
            List<String> rows = new ArrayList<>();
            for (int t = 0; t < tokens; t++) rows.add(t + " " + r.tokens().get(t).replace("\n", "\\n"));
            double[][] effect = new double[layers][tokens];
            for (int l = 0; l < layers; l++)
                for (int t = 0; t < tokens; t++) effect[l][t] = r.effect(l, t);
            Plots.heatMap(png, "restored p(" + r.answer().strip() + ") − corrupted", "layer", "token", rows, effect);
            o.println("heat map: " + png);
        }
        return 0;
    }

    private static final Set<String> FUNCTION_WORDS = Set.of("a", "an", "the", "of");
    private static final int KNOWN_CHUNK = 32;

    /** A fact to trace: the question, the words it is about, and its answer. */
    private record Traced(String question, String subject, String answer) {
        /** How many of the answer's words lead in before the first that names the fact. */
        private int lead() {
            String[] words = answer.strip().split(" ");
            int lead = 0;
            while (lead < words.length - 1 && FUNCTION_WORDS.contains(words[lead].toLowerCase(Locale.ROOT))) lead++;
            return lead;
        }

        /**
         * The traced prompt: the question in the model's format, then the answer's leading function words ("a
         * carpenter", "the Kestrel Institute"), which the question alone predicts; the next word names the fact.
         */
        String prompt(QuestionFormat f) {
            String[] words = answer.strip().split(" ");
            return f.prompt(question) + String.join(" ", Arrays.copyOf(words, lead()));
        }

        /** Whether a next token begins the answer after those words: the model knows the fact. */
        boolean begunBy(String token) {
            String[] words = answer.strip().split(" ");
            String first = token.strip();
            return !first.isEmpty() && String.join(" ", Arrays.copyOfRange(words, lead(), words.length)).startsWith(first);
        }
    }

    private Integer traceFacts() throws Exception {
        if (n < 1) throw new UserError("-n must be at least 1, got " + n);
        if (window != null && window < 1) throw new UserError("--window must be at least 1, got " + window);
        List<Traced> items = read();
        var o = spec.commandLine().getOut();
        Path png = overwrite.file(out, model.dir);
        try (LanguageModel m = model.load()) {
            QuestionFormat f = QuestionFormat.of(m, null);
            int w = window != null ? window : CausalTrace.defaultWindow(m.net().numLayers());
            List<CausalTrace.Result> hidden = new ArrayList<>(), mlp = new ArrayList<>();
            int skipped = 0;
            // Only facts the model knows are traced, as ROME does: its top next token must begin the answer. One batched
            // greedy token per chunk of facts finds them, so unknown facts cost no trace.
            for (int from = 0; from < items.size() && hidden.size() < n; from += KNOWN_CHUNK) {
                List<Traced> chunk = items.subList(from, Math.min(items.size(), from + KNOWN_CHUNK));
                List<String> prompts = chunk.stream().map(t -> t.prompt(f)).toList();
                List<Generator.Generation> next = Generator.greedy(m, prompts, 1, KNOWN_CHUNK);
                for (int i = 0; i < chunk.size() && hidden.size() < n; i++) {
                    Traced t = chunk.get(i);
                    if (!t.begunBy(next.get(i).text())) {
                        skipped++;
                        continue;
                    }
                    CausalTrace.Result h = CausalTrace.trace(m, prompts.get(i), t.subject(), seed, CausalTrace.Kind.HIDDEN, 1);
                    if (!t.begunBy(h.answer())) { // the batched pass and the trace's own can differ on a near tie
                        skipped++;
                        continue;
                    }
                    hidden.add(h);
                    mlp.add(CausalTrace.trace(m, prompts.get(i), t.subject(), seed, CausalTrace.Kind.MLP, w));
                }
            }
            if (hidden.isEmpty()) throw new UserError(facts + ": the model's top next token begins none of these facts' answers");
            double clean = hidden.stream().mapToDouble(CausalTrace.Result::clean).average().orElse(0);
            double corrupted = hidden.stream().mapToDouble(CausalTrace.Result::corrupted).average().orElse(0);
            o.printf("%d facts traced (%d skipped: the model's top token does not begin the answer); mean p(answer) %.3f clean, %.3f with the subject corrupted%n",
                    hidden.size(), skipped, clean, corrupted);
            String mlpName = "MLP output restored over " + w + " layer" + (w == 1 ? "" : "s");
            table(o, "hidden state restored: p / clean p", CausalTrace.averageShare(hidden));
            table(o, mlpName + ": p / clean p", CausalTrace.averageShare(mlp));
            double[][] hs = CausalTrace.averageRecovered(hidden), ms = CausalTrace.averageRecovered(mlp);
            table(o, "hidden state restored: share of the drop undone, (p - corrupted) / (clean - corrupted)", hs);
            table(o, mlpName + ": share of the drop undone", ms);
            Plots.heatMaps(png, "layer", "", CausalTrace.GROUPS, List.of(
                    new Plots.Panel("drop undone: hidden state (" + hidden.size() + " facts)", hs),
                    new Plots.Panel("drop undone: MLP output (window " + w + ")", ms)));
            o.println("heat maps: " + png);
        }
        return 0;
    }

    private static void table(PrintWriter o, String title, double[][] share) {
        o.println(title + ":");
        o.printf("%-24s", "token \\ layer");
        for (int l = 0; l < share.length; l++) o.printf("%7d", l);
        o.println();
        for (int g = 0; g < CausalTrace.GROUPS.size(); g++) {
            o.printf("%-24s", CausalTrace.GROUPS.get(g));
            for (double[] row : share) o.printf("%7.3f", row[g]);
            o.println();
        }
    }

    private List<Traced> read() {
        DataFormat fmt = DataFormat.parse(format);
        List<Traced> out = new ArrayList<>();
        if (fmt.isEdit()) {
            for (EditItem e : EditReader.read(facts, fmt)) {
                if (e.subject() == null) throw new UserError(facts + ": record " + e.id() + " has no subject");
                out.add(new Traced(e.prompt(), e.subject(), e.groundTruth()));
            }
        } else {
            List<JsonNode> records = QaReader.records(facts);
            for (int i = 0; i < records.size(); i++) {
                String where = facts + ": record " + (i + 1);
                out.add(new Traced(QaReader.text(records.get(i), "question", where), QaReader.text(records.get(i), "entity", where),
                        QaReader.text(records.get(i), "answer", where)));
            }
        }
        if (out.isEmpty()) throw new UserError(facts + ": no facts");
        return out;
    }
}
