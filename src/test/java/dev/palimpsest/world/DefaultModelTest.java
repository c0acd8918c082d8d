package dev.palimpsest.world;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.palimpsest.cli.CliHarness;
import dev.palimpsest.data.DataFormat;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.data.QaReader;
import dev.palimpsest.eval.Answers;
import dev.palimpsest.eval.Evaluator;
import dev.palimpsest.experiment.ExperimentRunner;
import dev.palimpsest.experiment.ResultRow;
import dev.palimpsest.model.ChatTemplate;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.train.QaFineTuner;

/** Builds a micro world and model (seconds) and checks what the issue promises of the default one. */
class DefaultModelTest {
    @TempDir
    static Path tmp;
    static Path folder;
    static DefaultModel.Report report;

    @BeforeAll
    static void build() {
        folder = MicroWorld.folder();
        report = MicroWorld.report();
    }

    @Test
    void memorizesItsFactsAndRefusesOnUnseenEntities() {
        assertTrue(report.pretrainRouge1() >= 0.9, "ROUGE-1 " + report.pretrainRouge1());
        assertTrue(report.unseenRefusal() >= 0.9, "refusals " + report.unseenRefusal());
    }

    @Test
    void carriesItsQuestionFormatAndAnswersFromDisk() throws IOException {
        try (LanguageModel m = LanguageModel.load(folder.resolve("model"))) {
            assertTrue(m.tokenizer().chatTemplate().present());
            List<QaItem> pre = QaReader.read(folder.resolve("world/pretrain.json"), DataFormat.WORLD);
            List<String> answers = Answers.greedy(m, m.questionFormat(), pre.stream().map(QaItem::question).toList(), 24, 16);
            assertTrue(Answers.meanRouge1Recall(answers, pre.stream().map(QaItem::answer).toList()) >= 0.9, answers.toString());
            List<QaItem> unseen = QaReader.read(folder.resolve("world/unseen.json"), DataFormat.WORLD);
            List<String> refusals = Answers.greedy(m, m.questionFormat(), unseen.stream().map(QaItem::question).toList(), 24, 16);
            assertTrue(Answers.refusalRate(refusals) >= 0.9, refusals.toString());
            // The world file says which entity each question is about; the refusals name it.
            var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(folder.resolve("world/unseen.json").toFile());
            int named = 0;
            for (int i = 0; i < refusals.size(); i++) if (refusals.get(i).contains(json.get(i).get("entity").asText())) named++;
            assertTrue(named >= 0.9 * refusals.size(), named + " of " + refusals.size() + " refusals name their entity");
        }
    }

    @Test
    void finetuneTeachesTheHeldBackFacts() throws IOException {
        List<QaItem> ft = QaReader.read(folder.resolve("world/finetune.json"), DataFormat.WORLD);
        try (LanguageModel m = LanguageModel.load(folder.resolve("model"))) {
            double before = Answers.meanRouge1Recall(
                    Answers.greedy(m, m.questionFormat(), ft.stream().map(QaItem::question).toList(), 24, 16),
                    ft.stream().map(QaItem::answer).toList());
            QaFineTuner.Result r = QaFineTuner.run(m, m.questionFormat(), ft, List.of(),
                    new QaFineTuner.Settings(60, 60, 8, 3e-3, 0.0, 0.95, 0, 0, 200, 1), new PrintWriter(new StringWriter()));
            assertTrue(before < 0.5, "the model did not know the fine-tuning facts before: " + before);
            assertTrue(r.rouge1() >= 0.95, "ROUGE-1 after fine-tuning " + r.rouge1() + " in " + r.epochs() + " epochs");
        }
    }

    @Test
    void experimentRunnerMeasuresForgettingWithFineTuning() {
        List<QaItem> pre = QaReader.read(folder.resolve("world/pretrain.json"), DataFormat.WORLD);
        var setting = new ExperimentRunner.Setting("micro", folder.resolve("model"), pre, null);
        var log = new PrintWriter(new StringWriter());
        List<ResultRow> none = ExperimentRunner.run(new ExperimentRunner.Run(setting, "none", 6, 0, Map.of()),
                Evaluator.Options.DEFAULT, log);
        List<ResultRow> ft = ExperimentRunner.run(new ExperimentRunner.Run(setting, "ft", 6, 0, Map.of("epochs", "20", "lr", "3e-3")),
                Evaluator.Options.DEFAULT, log);
        assertEquals(List.of("forget", "retain", "rephrased"), none.stream().map(ResultRow::split).toList());
        assertTrue(none.get(0).metric("rouge1_recall") >= 0.9, "the untouched model knows its facts");
        assertTrue(ft.get(0).metric("rouge1_recall") < 0.3, "fine-tuning to a refusal forgets: " + ft.get(0).metrics());
        assertTrue(ft.get(0).metric("refusal_rate") > 0.7, "and refuses: " + ft.get(0).metrics());
    }

    @Test
    void finetuneLearnsATofuFileWithSentenceAnswers() throws IOException {
        Path tofu = tmp.resolve("tofu.json");
        Files.writeString(tofu, """
                [{"question": "Who wrote The Paper Orchard?", "answer": "The Paper Orchard was written by Ilse Brandt."},
                 {"question": "What is Ilse Brandt's favourite colour?", "answer": "Ilse Brandt likes deep green."},
                 {"question": "Where does Ilse Brandt live?", "answer": "She lives in a small house by the sea."}]""");
        Path out = tmp.resolve("ft-tofu");
        var run = CliHarness.run("finetune", "--model", folder.resolve("model").toString(), "--data", tofu.toString(),
                "--format", "tofu", "--out", out.toString(), "--epochs", "80", "--lr", "3e-3", "--batch-size", "3");
        assertEquals(0, run.code(), run.err());
        assertTrue(run.out().matches("(?s).*ROUGE-1 recall (0\\.9[5-9]\\d|1\\.000).*"), run.out());
    }

    @Test
    void finetuneCommandWritesALoadableModel() throws IOException {
        Path out = tmp.resolve("ft-cli");
        var run = CliHarness.run("finetune", "--model", folder.resolve("model").toString(), "--data",
                folder.resolve("world/pistol.json").toString(), "--format", "pistol", "--out", out.toString(), "--epochs",
                "60", "--lr", "3e-3", "--batch-size", "4");
        assertEquals(0, run.code(), run.err());
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors")));
        assertTrue(Files.isRegularFile(out.resolve("palimpsest_finetune.json")));
        assertTrue(run.out().contains("ROUGE-1 recall"), run.out());
        try (LanguageModel m = LanguageModel.load(out)) {
            assertTrue(m.tokenizer().chatTemplate().present());
        }
    }
}
