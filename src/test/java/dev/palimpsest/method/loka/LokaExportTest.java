package dev.palimpsest.method.loka;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.cli.CliHarness;
import dev.palimpsest.model.DType;
import dev.palimpsest.model.ForwardInput;
import dev.palimpsest.method.loka.LokaCodebook;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.PeftAdapter;
import dev.palimpsest.model.TinyModels;
import dev.palimpsest.tensor.Tensors;

/** LOKA's memories leave as PEFT adapters: base + adapter K computes what LOKA computes with memory K plugged in. */
class LokaExportTest {
    @TempDir
    Path tmp;

    static final long[] IDS = TinyModels.ids("the capital of france is paris");

    static float[] logits(LanguageModel m) {
        try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            return Tensors.toFloats(m.net().forward(ForwardInput.of(Tensors.longs(IDS, 1, IDS.length)), null));
        }
    }

    @Test
    void eachMemoryExportsAsAPeftAdapterThatComputesLikeTheMemory() throws IOException {
        ObjectNode cfg = TinyModels.llamaConfig();
        Path base = TinyModels.writeDir(tmp.resolve("base"), cfg, TinyModels.randomNet(cfg, 5), DType.F32, true);
        Path updated = tmp.resolve("loka");
        try (LanguageModel m = LanguageModel.load(base)) {
            int d = m.config().hiddenSize();
            LokaCodebook c = new LokaCodebook(m.net(), new int[] {0}, new int[] {1}, 4, 8.0, 0);
            m.attach(c);
            for (int k = 0; k < 2; k++) {
                c.addMemory(k);
                try (NoGradGuard g = new NoGradGuard()) {
                    for (var a : c.memory(k).values()) a.b().copy_(Tensors.randn(ScalarType.Float, a.outFeatures(), a.rank()));
                }
            }
            // A router that never fires: the saved model answers as the base model unless a memory is forced.
            c.setRouter(Tensors.zeros(ScalarType.Float, d), Tensors.ones(ScalarType.Float, d), Tensors.zeros(ScalarType.Float, 2, d),
                    Tensors.longs(new long[] {0, 1}, 2), Tensors.zeros(ScalarType.Float, 1, d), Double.POSITIVE_INFINITY);
            m.save(updated);
        }
        var one = CliHarness.run("export", "--model", updated.toString(), "--memory", "1", "--out", tmp.resolve("m1").toString());
        assertEquals(0, one.code(), one.err());
        assertTrue(one.out().contains("applies to every input"), one.out());
        var all = CliHarness.run("export", "--model", updated.toString(), "--out", tmp.resolve("all").toString());
        assertEquals(0, all.code(), all.err());
        assertTrue(Files.isRegularFile(tmp.resolve("all/memory-0/" + PeftAdapter.CONFIG)) && Files.isRegularFile(tmp.resolve("all/memory-1/" + PeftAdapter.WEIGHTS)));

        try (LanguageModel loka = LanguageModel.load(updated); LanguageModel viaPeft = LanguageModel.load(base)) {
            float[] routedNowhere = logits(loka);
            assertArrayEquals(logits(viaPeft), routedNowhere, 0f, "the router never fires: the base model's logits");
            loka.memory(LokaCodebook.class).force(1);
            float[] memory1 = logits(loka);
            PeftAdapter.attach(tmp.resolve("m1"), viaPeft.net());
            assertArrayEquals(memory1, logits(viaPeft), 1e-5f, "base + exported memory 1 = LOKA with memory 1 plugged in");
            double moved = 0;
            for (int i = 0; i < memory1.length; i++) moved = Math.max(moved, Math.abs(memory1[i] - routedNowhere[i]));
            assertTrue(moved > 1e-2, "memory 1 changes the logits: " + moved);
        }

        var none = CliHarness.run("export", "--model", base.toString(), "--out", tmp.resolve("x").toString());
        assertEquals(2, none.code());
        assertTrue(none.err().contains("no LoRA-based memory"), none.err());
    }
}
