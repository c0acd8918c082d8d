package dev.palimpsest.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.tensor.Tensors;
import dev.palimpsest.train.MasterAdamW;

/** Models held and computed in bf16 and fp16: one copy of the weights in that type, results that agree with fp32. */
class PrecisionTest {
    @TempDir
    Path tmp;

    /**
     * Per-token log-probabilities of bf16 (fp16) compute stay within this many nats of fp32's on the tiny models,
     * whose weights (std 0.3) make sharper logits than trained models have: bf16 keeps 8 significant bits.
     */
    static final double BF16_TOLERANCE = 0.1, FP16_TOLERANCE = 0.02;

    @Test
    void narrowComputeAgreesWithFp32ForEveryFamily() throws IOException {
        for (ObjectNode cfg : new ObjectNode[] {TinyModels.llamaConfig(), TinyModels.qwen2Config(), TinyModels.tiedLlamaConfig(),
                TinyModels.gpt2Config(), TinyModels.qwen3Config(), TinyModels.gemmaConfig(),
                TinyModels.gemma2Config(), TinyModels.phi3Config(), TinyModels.phiConfig(), TinyModels.gptNeoxConfig(), TinyModels.gptjConfig()}) {
            String family = cfg.get("architectures").get(0).asText() + cfg.hashCode();
            Path dir = TinyModels.writeDir(tmp.resolve(family), cfg, TinyModels.randomNet(cfg, 29), DType.F32, true);
            Random rnd = new Random(4);
            List<long[]> prompts = new ArrayList<>(), targets = new ArrayList<>();
            int vocab = TinyModels.VOCAB.size();
            for (int i = 0; i < 6; i++) {
                prompts.add(rnd.longs(3 + i, 0, vocab).toArray());
                targets.add(rnd.longs(1 + i % 3, 0, vocab).toArray());
            }
            try (LanguageModel full = LanguageModel.load(dir)) {
                assertEquals(ScalarType.Float, full.net().dtype());
                var reference = Scorer.scoreIds(full.net(), prompts, targets, 4, 0);
                for (DType narrow : new DType[] {DType.BF16, DType.F16}) {
                    try (LanguageModel m = LanguageModel.load(dir, narrow)) {
                        for (Tensor t : m.net().parameters().values()) assertEquals(narrow.scalarType, Tensors.dtype(t), family);
                        var got = Scorer.scoreIds(m.net(), prompts, targets, 4, 0);
                        double worst = 0;
                        for (int i = 0; i < got.size(); i++)
                            for (int j = 0; j < got.get(i).logprobs().length; j++)
                                worst = Math.max(worst, Math.abs(got.get(i).logprobs()[j] - reference.get(i).logprobs()[j]));
                        double tolerance = narrow == DType.BF16 ? BF16_TOLERANCE : FP16_TOLERANCE;
                        assertTrue(worst < tolerance, family + " " + narrow + ": log-probabilities differ by up to " + worst);
                        assertTrue(worst > 0, family + " " + narrow + ": identical to fp32, so it did not compute in " + narrow);
                    }
                }
            }
        }
    }

    @Test
    void aBf16CheckpointLoadsAsBf16AndIsSavedAsBf16() throws IOException {
        ObjectNode cfg = TinyModels.llamaConfig();
        CausalLM net = TinyModels.randomNet(cfg, 31);
        Path f32 = TinyModels.writeDir(tmp.resolve("f32"), cfg, net, DType.F32, true);
        Path bf16 = TinyModels.writeDir(tmp.resolve("bf16"), cfg, net, DType.BF16, true);
        try (LanguageModel m = LanguageModel.load(bf16)) {
            assertEquals(DType.BF16, m.storedAs());
            assertEquals(ScalarType.BFloat16, m.net().dtype(), "auto keeps the checkpoint's type: no fp32 copy");
            Path out = tmp.resolve("saved");
            m.save(out);
            assertEquals(Files.size(bf16.resolve("model.safetensors")), Files.size(out.resolve("model.safetensors")));
            assertTrue(Files.readString(out.resolve("config.json")).contains("\"bfloat16\""));
            try (LanguageModel back = LanguageModel.load(out)) {
                for (var e : m.net().parameters().entrySet())
                    assertEquals(0.0, Tensors.item(e.getValue().toType(ScalarType.Float).sub(back.net().parameter(e.getKey()).toType(ScalarType.Float))
                            .abs().max()), e.getKey() + " survives the round trip bit for bit");
            }
        }
        // An explicit type wins over the checkpoint's.
        try (LanguageModel m = LanguageModel.load(f32, DType.BF16)) {
            assertEquals(DType.F32, m.storedAs());
            assertEquals(ScalarType.BFloat16, m.net().dtype());
        }
        try (LanguageModel m = LanguageModel.load(bf16, DType.F32)) {
            assertEquals(ScalarType.Float, m.net().dtype());
        }
    }

    /** Steps smaller than bf16's spacing vanish in a bf16 weight but accumulate in its fp32 master. */
    @Test
    void masterWeightsKeepStepsSmallerThanBf16Resolution() {
        try (PointerScope s = new PointerScope()) {
            Tensor plain = Tensors.ones(ScalarType.BFloat16, 8).set_requires_grad(true);
            Tensor mixed = Tensors.ones(ScalarType.BFloat16, 8).set_requires_grad(true);
            var naive = dev.palimpsest.train.Optimizers.adamW(List.of(plain), 1e-4, 0);
            try (MasterAdamW opt = MasterAdamW.over(List.of(mixed), 1e-4, 0)) {
                for (int step = 0; step < 100; step++) {
                    naive.zero_grad();
                    opt.zero_grad();
                    // A constant gradient of one: Adam moves each weight by about lr per step, 1e-2 in all,
                    // while bf16 values next to 1 are 2^-7 apart (7.8e-3 below it).
                    plain.sum().backward();
                    mixed.sum().backward();
                    naive.step();
                    opt.step();
                }
            }
            assertEquals(1.0, Tensors.item(plain.max()), 0.0, "a pure bf16 AdamW loses every step");
            double moved = 1.0 - Tensors.item(mixed.max());
            // 100 steps of lr = 0.01; below 1 bf16 values are 2^-8 apart, so the live weight is within that of 0.99.
            assertEquals(0.01, moved, 0.00390625, "the master moved by about 0.01 and the live weight followed");
        }
    }
}
