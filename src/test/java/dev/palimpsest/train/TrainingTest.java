package dev.palimpsest.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.LoraAdapter;
import dev.palimpsest.model.Scorer;
import dev.palimpsest.model.TinyModels;
import dev.palimpsest.tensor.Tensors;

class TrainingTest {
    static final List<long[]> PROMPTS = List.of(TinyModels.ids("the capital of france is"), TinyModels.ids("a cat sat on"));
    static final List<long[]> TARGETS = List.of(TinyModels.ids("paris"), TinyModels.ids("the mat"));

    /** Mean negative log-likelihood of the targets (the loss every fine-tuning method starts from). */
    static Tensor nll(CausalLM net) {
        return Scorer.targetLogprobs(net, PROMPTS, TARGETS, 0).mean().neg();
    }

    @Test
    void microBatchesGiveTheWholeBatchsLossAndGradient() {
        CausalLM net = TinyModels.toDouble(TinyModels.randomNet(TinyModels.llamaConfig(), 8));
        String[] words = "the capital of france is paris a cat sat on mat river flows through city".split(" ");
        java.util.Random rnd = new java.util.Random(3);
        List<SupervisedTrainer.Example> batch = new java.util.ArrayList<>();
        for (int i = 0; i < 21; i++) { // three micro-batches, the last one short; lengths from 2 to 14 tokens
            StringBuilder p = new StringBuilder(words[rnd.nextInt(words.length)]), t = new StringBuilder(words[rnd.nextInt(words.length)]);
            for (int j = rnd.nextInt(10); j > 0; j--) p.append(' ').append(words[rnd.nextInt(words.length)]);
            for (int j = rnd.nextInt(4); j > 0; j--) t.append(' ').append(words[rnd.nextInt(words.length)]);
            batch.add(new SupervisedTrainer.Example(TinyModels.ids(p.toString()), TinyModels.ids(t.toString())));
        }
        assertEquals(3, SupervisedTrainer.microBatches(batch).size());
        List<Tensor> params = Trainable.select(net, n -> true);
        double[][] whole = new double[params.size()][], micro = new double[params.size()][];
        double wholeLoss;
        try (PointerScope s = new PointerScope()) {
            Tensor loss = Scorer.targetLogprobs(net, batch.stream().map(SupervisedTrainer.Example::prompt).toList(),
                    batch.stream().map(SupervisedTrainer.Example::target).toList(), 0).mean().neg();
            wholeLoss = Tensors.item(loss);
            loss.backward();
            for (int i = 0; i < params.size(); i++) {
                whole[i] = Tensors.toDoublesExact(params.get(i).grad());
                params.get(i).grad().zero_();
            }
        }
        double microLoss = SupervisedTrainer.backward(net, batch, 0);
        for (int i = 0; i < params.size(); i++) micro[i] = Tensors.toDoublesExact(params.get(i).grad());
        Trainable.freezeAll(net);
        assertEquals(wholeLoss, microLoss, 1e-12);
        for (int i = 0; i < params.size(); i++) assertArrayEquals(whole[i], micro[i], 1e-12, "gradient of parameter " + i);
    }

    @Test
    void autogradMatchesCentralFiniteDifferences() {
        for (var cfg : List.of(TinyModels.llamaConfig(), TinyModels.gpt2Config())) {
            CausalLM net = TinyModels.toDouble(TinyModels.randomNet(cfg, 31));
            String name = net.downProjection(0) + ".weight";
            Tensor w = net.parameter(name);
            Trainable.select(net, n -> n.equals(name));
            double[] grad;
            try (PointerScope s = new PointerScope()) {
                nll(net).backward();
                grad = Tensors.toDoublesExact(w.grad());
            }
            w.set_requires_grad(false);
            double h = 1e-6;
            int[] probes = {0, 7, 50, (int) w.numel() - 1};
            try (NoGradGuard g = new NoGradGuard()) {
                for (int idx : probes) {
                    Tensor flat = w.view(-1);
                    double orig = Tensors.item(flat.select(0, idx));
                    flat.select(0, idx).fill_(Tensors.scalar(orig + h));
                    double up = Tensors.item(nll(net));
                    flat.select(0, idx).fill_(Tensors.scalar(orig - h));
                    double down = Tensors.item(nll(net));
                    flat.select(0, idx).fill_(Tensors.scalar(orig));
                    double fd = (up - down) / (2 * h);
                    assertEquals(fd, grad[idx], 1e-7 + 1e-5 * Math.abs(fd), name + "[" + idx + "]");
                }
            }
        }
    }

    @Test
    void loraWithZeroBLeavesTheModelUnchangedAndMergingKeepsItsOutput() {
        CausalLM net = TinyModels.randomNet(TinyModels.llamaConfig(), 37);
        long[] ids = TinyModels.ids("who wrote the book ?");
        try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            float[] base = Tensors.toFloats(net.forward(Tensors.longs(ids, 1, ids.length)));
            List<LoraAdapter> adapters = Lora.attach(net, n -> n.contains("mlp") || n.contains("q_proj"), 4, 8, 1);
            assertEquals(2 * 4, adapters.size());
            assertArrayEquals(base, Tensors.toFloats(net.forward(Tensors.longs(ids, 1, ids.length))), 0f);
            for (LoraAdapter a : adapters) a.b().normal_(0, 0.5, new org.bytedeco.pytorch.GeneratorOptional());
            float[] adapted = Tensors.toFloats(net.forward(Tensors.longs(ids, 1, ids.length)));
            double diff = 0;
            for (int i = 0; i < base.length; i++) diff = Math.max(diff, Math.abs(base[i] - adapted[i]));
            assertTrue(diff > 1e-3, "a non-zero adapter changes the output");
            Lora.mergeAll(net);
            assertArrayEquals(adapted, Tensors.toFloats(net.forward(Tensors.longs(ids, 1, ids.length))), 1e-5f);
        }
    }

    @Test
    void adamWOnOneDownProjectionLearnsTheTargetsAndOnlyTouchesIt() {
        CausalLM net = TinyModels.randomNet(TinyModels.llamaConfig(), 41);
        String name = net.downProjection(1) + ".weight";
        float[] other = Tensors.toFloats(net.parameter(net.downProjection(0) + ".weight"));
        List<Tensor> params = Trainable.select(net, n -> n.equals(name));
        Optimizer opt = Optimizers.adamW(params, 0.05, 0.0);
        double first = 0, last = 0;
        for (int step = 0; step < 60; step++) {
            try (PointerScope s = new PointerScope()) {
                opt.zero_grad();
                Tensor loss = nll(net);
                loss.backward();
                GradClip.clipNorm(params, 1.0);
                opt.step();
                if (step == 0) first = Tensors.item(loss);
                last = Tensors.item(loss);
            }
        }
        Trainable.freezeAll(net);
        assertTrue(last < first * 0.2, "loss " + first + " -> " + last);
        assertArrayEquals(other, Tensors.toFloats(net.parameter(net.downProjection(0) + ".weight")), 0f);
    }

    @Test
    void clippingScalesTheGlobalNorm() {
        Tensor a = Tensors.floats(new float[] {3, 0}).set_requires_grad(true);
        Tensor b = Tensors.floats(new float[] {0, 4}).set_requires_grad(true);
        a.mul(a).sum().div(Tensors.scalar(2)).add(b.mul(b).sum().div(Tensors.scalar(2))).backward(); // grads = (3,0),(0,4)
        double norm = GradClip.clipNorm(List.of(a, b), 1.0);
        assertEquals(5.0, norm, 1e-6);
        assertArrayEquals(new float[] {0.6f, 0f}, Tensors.toFloats(a.grad()), 1e-5f);
        assertArrayEquals(new float[] {0f, 0.8f}, Tensors.toFloats(b.grad()), 1e-5f);
    }

    @Test
    void nativeMemoryStaysFlatOverAThousandSteps() {
        CausalLM net = TinyModels.randomNet(TinyModels.llamaConfig(), 43);
        List<LoraAdapter> adapters = Lora.attach(net, n -> n.endsWith("down_proj"), 2, 4, 2);
        List<Tensor> params = Lora.parameters(adapters);
        Optimizer opt = Optimizers.sgd(params, 0.01, 0.9);
        long after100 = 0;
        for (int step = 0; step < 1000; step++) {
            try (PointerScope s = new PointerScope()) {
                opt.zero_grad();
                nll(net).backward();
                opt.step();
            }
            if (step == 100) after100 = Pointer.physicalBytes();
        }
        long growth = Pointer.physicalBytes() - after100;
        assertTrue(growth < 32L << 20, "resident memory grew by " + (growth >> 20) + " MiB over 900 steps");
    }
}
