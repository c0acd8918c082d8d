package dev.palimpsest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.io.FolderRecord;
import dev.palimpsest.io.PalimpsestHome;
import dev.palimpsest.model.DType;
import dev.palimpsest.model.TinyModels;

/**
 * The cases of the "never lose a user's data" audit, each with its promised result: outputs that would
 * destroy something are refused before any compute (exit 2, one line naming the path), nonsense settings,
 * configs and data are refused up front, and what cannot be computed is never reported as a number.
 */
class SafeOutputsCliTest {
    @TempDir
    Path tmp;
    Path model, forget;

    @BeforeEach
    void files() throws IOException {
        model = TinyModels.writeDir(tmp.resolve("model"), TinyModels.llamaConfig(), TinyModels.randomNet(TinyModels.llamaConfig(), 5),
                DType.F32, true);
        forget = tmp.resolve("forget.json");
        Files.writeString(forget, "[{\"question\": \"the capital of france\", \"answer\": \"paris\"}]");
    }

    String[] update(Path model, Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("update", "--model", model.toString(), "--method", "none", "--forget",
                forget.toString(), "--format", "tofu", "--prompt-template", "{question}", "--out", out.toString()));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    /** Exit 2, one line on stderr that mentions {@code what}, nothing on stdout. */
    static void refused(CliRun r, String what) {
        assertEquals(2, r.code(), r.err());
        assertEquals("", r.out());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains(what), "should mention '" + what + "': " + r.err());
        assertFalse(r.err().contains("Exception"), r.err());
    }

    @Test
    void anExistingFileIsNeverReplacedByAFolderAndIsCheckedBeforeTheModel() throws IOException {
        Path file = Files.writeString(tmp.resolve("notes.txt"), "mine");
        // The model path does not exist: the output is refused first, so before any loading or compute.
        refused(CliRun.of(update(tmp.resolve("no-such-model"), file, "--overwrite")), file + ": is a file");
        assertEquals("mine", Files.readString(file));
    }

    @Test
    void aUsersFolderIsLeftAloneEvenWithOverwrite() throws IOException {
        Path folder = Files.createDirectories(tmp.resolve("mine"));
        Files.writeString(folder.resolve("LICENSE"), "keep me");
        refused(CliRun.of(update(model, folder)), "exists and is not empty");
        refused(CliRun.of(update(model, folder, "--overwrite")), "was not written by palimpsest");
        assertEquals("keep me", Files.readString(folder.resolve("LICENSE")));
        try (var s = Files.list(folder)) {
            assertEquals(1, s.count());
        }
        // An empty folder is a fine output.
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        assertEquals(0, CliRun.of(update(model, empty)).code());
        assertTrue(FolderRecord.isPresent(empty));
    }

    @Test
    void overwriteReplacesOnlyPalimpsestsOwnFolderAndNeverAnInput() throws IOException {
        Path out = tmp.resolve("runs").resolve("out");
        assertEquals(0, CliRun.of(update(model, out)).code());
        String first = FolderRecord.read(out).id();
        Files.writeString(out.resolve("extra.txt"), "added later");
        refused(CliRun.of(update(model, out)), "exists and is not empty");
        assertEquals(0, CliRun.of(update(model, out, "--overwrite")).code());
        assertNotEquals(first, FolderRecord.read(out).id(), "a new version");
        assertFalse(Files.exists(out.resolve("extra.txt")), "replaced whole");
        // The palimpsest folder as input: never its own output, nor a folder around it, nor one inside it.
        refused(CliRun.of(update(out, out, "--overwrite")), "is the input model");
        refused(CliRun.of(update(out, tmp.resolve("runs"), "--overwrite")), "contains the input model");
        refused(CliRun.of(update(out, out.resolve("sub"))), "is inside the input model");
        refused(CliRun.of(update(model, forget, "--overwrite")), "is an input file");
        assertTrue(FolderRecord.isPresent(out));
    }

    @Test
    void theRootTheWorkingDirectoryAndTheCacheAreNeverOutputs() throws IOException {
        refused(CliRun.of(update(model, Path.of("/"), "--overwrite")), "is the root folder");
        refused(CliRun.of(update(model, Path.of("."), "--overwrite")), "is the working directory");
        refused(CliRun.of(update(model, Path.of("").toAbsolutePath().getParent(), "--overwrite")), "contains the working directory");
        refused(CliRun.of(update(model, PalimpsestHome.root(), "--overwrite")), "palimpsest's cache");
        refused(CliRun.of(update(model, PalimpsestHome.root().resolve("mine"))), "is inside palimpsest's cache");
    }

    @Test
    void anUnwritableOutputIsReportedBeforeTheCompute() {
        // /proc takes no folders, even from root.
        refused(CliRun.of(update(model, Path.of("/proc/palimpsest-test/out"))), "/proc/palimpsest-test/out: cannot create");
    }

    @Test
    void settingsOutOfRangeAreRefusedBeforeTheModelIsLoaded() {
        Path none = tmp.resolve("no-such-model");
        String[][] cases = {{"ga", "lr=-1", "'lr' must be greater than 0"}, {"ga", "lr=NaN", "'lr' must be a finite number"},
                {"ga", "batch=0", "'batch' must be at least 1"}, {"gd", "epochs=0", "'epochs' must be at least 1"},
                {"npo", "epochs=-3", "'epochs' must be at least 1"}, {"gd", "lora_rank=-2", "'lora_rank' must be at least 0"},
                {"grace", "lr=1e30", "'lr' must be at most 1000"}, {"wise", "mask_ratio=1.5", "'mask_ratio' must be at most 1"},
                {"rome", "position=middle", "'position' must be one of auto, subject, last"}, {"ga", "lrr=1", "unknown setting 'lrr'"}};
        for (String[] c : cases)
            refused(CliRun.of("update", "--model", none.toString(), "--method", c[0], "--set", c[1], "--forget", forget.toString(),
                    "--format", "tofu", "--out", tmp.resolve("o").toString()), c[2]);
        assertFalse(Files.exists(tmp.resolve("o")));
    }

    @Test
    void configsThatContradictThemselvesOrTheirTokenizerAreRefused() throws IOException {
        ObjectNode small = TinyModels.llamaConfig();
        small.put("vocab_size", 20);
        Path dir = TinyModels.writeDir(tmp.resolve("small-vocab"), small, TinyModels.randomNet(small, 3), DType.F32, true);
        refused(CliRun.of("score", "--model", dir.toString(), "--prompt", "the capital", "--target", "paris"), "vocab_size is 20");

        for (String scaling : new String[] {"{\"rope_type\": \"linear\", \"factor\": 0}", "{\"rope_type\": \"linear\", \"factor\": \"two\"}",
                "{\"rope_type\": 3, \"factor\": 2}", "\"linear\""}) {
            ObjectNode cfg = TinyModels.llamaConfig();
            cfg.set("rope_scaling", TinyModels.JSON.readTree(scaling));
            Files.writeString(model.resolve("config.json"), cfg.toString());
            refused(CliRun.of("score", "--model", model.toString(), "--prompt", "the capital", "--target", "paris"), "field 'rope_scaling'");
        }
    }

    @Test
    void inputsPastTheContextAreAnErrorAndGenerationStopsAtIt() throws IOException {
        ObjectNode cfg = TinyModels.gpt2Config();
        Path gpt2 = TinyModels.writeDir(tmp.resolve("gpt2"), cfg, TinyModels.randomNet(cfg, 9), DType.F32, false);
        String long70 = "the cat sat on the mat . ".repeat(10).strip();
        refused(CliRun.of("score", "--model", gpt2.toString(), "--prompt", long70, "--target", "paris"), "longer than the model's context of 64 (n_positions");
        refused(CliRun.of("generate", "--model", gpt2.toString(), "--prompt", long70), "longer than the model's context of 64");
        // A budget far past the context: generation ends where the context does.
        CliRun g = CliRun.of("generate", "--model", gpt2.toString(), "--prompt", "the cat sat", "--max-new-tokens", "2000000000", "--json");
        assertEquals(0, g.code(), g.err());
        assertTrue(TinyModels.JSON.readTree(g.out()).get("tokens").size() <= 64 - 3, g.out());
        // Ten megabytes of question are refused by their length, before tokenizing them.
        Path huge = tmp.resolve("huge.json");
        Files.writeString(huge, "[{\"question\": \"" + "the cat ".repeat(1_250_000) + "\", \"answer\": \"paris\"}]");
        long t0 = System.nanoTime();
        refused(CliRun.of("eval", "--model", gpt2.toString(), "--data", huge.toString(), "--format", "tofu"), "characters, more than the model's context of 64 tokens");
        assertTrue((System.nanoTime() - t0) / 1e9 < 20, "refused at once");
    }

    @Test
    void dataFieldsOfTheWrongTypeNameTheFileRecordAndField() throws IOException {
        Path data = tmp.resolve("typed.json");
        Files.writeString(data, "[{\"question\": \"the capital\", \"answer\": \"paris\"}, {\"question\": \"the capital\", \"answer\": 42}]");
        refused(CliRun.of("eval", "--model", model.toString(), "--data", data.toString(), "--format", "tofu"),
                data + ": record 2: field 'answer' must be text, got a number 42");
        Files.writeString(data, "[{\"question\": true, \"answer\": \"paris\"}]");
        refused(CliRun.of("eval", "--model", model.toString(), "--data", data.toString(), "--format", "tofu"), "field 'question' must be text, got true/false");
        Files.writeString(data, "[{\"question\": \"the capital\", \"answer\": \"paris\", \"perturbed_answer\": [\"red\", 7]}]");
        refused(CliRun.of("eval", "--model", model.toString(), "--data", data.toString(), "--format", "tofu"), "field 'perturbed_answer' must hold text");
    }

    @Test
    void weightsThatAreNotNumbersAreRefusedAtLoad() throws IOException {
        Path weights = model.resolve("model.safetensors");
        byte[] all = Files.readAllBytes(weights);
        long header = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).putFloat((int) (8 + header + 4 * 7), Float.NaN);
        Files.write(weights, all);
        refused(CliRun.of("score", "--model", model.toString(), "--prompt", "the capital", "--target", "paris"), "holds NaN or infinite values");
        CliRun r = CliRun.of("eval", "--model", model.toString(), "--data", forget.toString(), "--format", "tofu", "--json");
        refused(r, "holds NaN or infinite values");
    }

    @Test
    void aMetricThatCannotBeComputedIsNullNotNaN() throws IOException {
        // No rephrasings: generalization has nothing to average.
        Path edits = tmp.resolve("edits.json");
        Files.writeString(edits, "[{\"src\": \"the capital of france\", \"subject\": \"france\", \"alt\": \"paris\", \"answers\": [\"red\"],"
                + " \"loc\": \"the cat sat on the\", \"loc_ans\": \"mat\"}]");
        CliRun r = CliRun.of("eval", "--model", model.toString(), "--data", edits.toString(), "--format", "zsre", "--prompt-template",
                "{question}", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode json = TinyModels.JSON.readTree(r.out());
        assertTrue(json.get("generalization").isNull(), r.out());
        assertFalse(r.out().contains("NaN"), r.out());
    }

    @Test
    void messagesWithLineBreaksStayOneLine() throws IOException {
        Path edits = tmp.resolve("edits.json");
        Files.writeString(edits, "[{\"src\": \"the capital of\\nfrance\", \"subject\": \"paris\", \"alt\": \"red\", \"answers\": [\"blue\"],"
                + " \"loc\": \"the cat\", \"loc_ans\": \"sat\"}]");
        Path corpus = Files.writeString(tmp.resolve("corpus.txt"), "the cat sat on the mat\nthe river flows through the city\n");
        CliRun r = CliRun.of("update", "--model", model.toString(), "--method", "rome", "--set", "position=subject", "--set",
                "mom2_tokens=200", "--set", "corpus=" + corpus, "--edit", edits.toString(), "--format", "zsre", "--prompt-template", "{question}", "--out",
                tmp.resolve("o").toString());
        refused(r, "is not in the prompt 'the capital of\\nfrance'");
    }

    @Test
    void outputsFollowTheUmaskLikeAnyOtherFile() throws IOException {
        Path out = tmp.resolve("perm");
        assertEquals(0, CliRun.of(update(model, out)).code());
        Path plainDir = Files.createDirectory(tmp.resolve("plain")), plainFile = Files.writeString(tmp.resolve("plain.txt"), "x");
        assertEquals(PosixFilePermissions.toString(Files.getPosixFilePermissions(plainDir)),
                PosixFilePermissions.toString(Files.getPosixFilePermissions(out)), "folder mode");
        for (String f : List.of(FolderRecord.FILE, "palimpsest_update.json", "model.safetensors"))
            assertEquals(PosixFilePermissions.toString(Files.getPosixFilePermissions(plainFile)),
                    PosixFilePermissions.toString(Files.getPosixFilePermissions(out.resolve(f))), f);
    }

    @Test
    void aFolderThatLostFilesSinceItWasWrittenIsAClearError() throws IOException {
        Path out = tmp.resolve("damaged");
        assertEquals(0, CliRun.of(update(model, out)).code());
        byte[] w = Files.readAllBytes(out.resolve("model.safetensors"));
        Files.write(out.resolve("model.safetensors"), java.util.Arrays.copyOf(w, w.length - 8));
        refused(CliRun.of("score", "--model", out.toString(), "--prompt", "the capital", "--target", "paris"),
                "incomplete: model.safetensors has " + (w.length - 8) + " bytes where the record says " + w.length);
        Files.delete(out.resolve(FolderRecord.FILE));
        refused(CliRun.of("score", "--model", out.toString(), "--prompt", "the capital", "--target", "paris"),
                "has palimpsest_update.json but no palimpsest.json");
    }

    @Test
    void plotsAreNewFilesUnlessOverwriteIsGiven() throws IOException {
        Path png = Files.writeString(tmp.resolve("trace.png"), "a plot I keep");
        refused(CliRun.of("trace", "--model", model.toString(), "--prompt", "the capital of france", "--subject", "france", "--out",
                png.toString()), "exists; pass --overwrite");
        assertEquals("a plot I keep", Files.readString(png));
        refused(CliRun.of("trace", "--model", model.toString(), "--prompt", "the capital of france", "--subject", "france", "--out",
                model.resolve("trace.png").toString(), "--overwrite"), "is inside the input model");
    }
}
