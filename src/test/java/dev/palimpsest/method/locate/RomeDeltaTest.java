package dev.palimpsest.method.locate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.palimpsest.model.DType;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.QuestionFormat;
import dev.palimpsest.model.Scorer;
import dev.palimpsest.model.Site;
import dev.palimpsest.model.SiteHook;
import dev.palimpsest.model.SiteHooks;
import dev.palimpsest.model.TinyModels;
import dev.palimpsest.request.KnowledgeRequest;
import dev.palimpsest.tensor.Tensors;

/**
 * ROME's δ optimisation on a tiny model, each term checked on its own: the first Adam step against the NLL's
 * gradient by finite differences, the clamp, the weight decay and the KL term on "{subject} is a".
 */
class RomeDeltaTest {
    @TempDir
    Path tmp;

    static final int LAYER = 0;
    static final String PROMPT = "the capital of france is";

    record Fixture(LanguageModel m, EditPrompts edit, long[] prompt, long[] target, long subjectPos, long[] essence, long essencePos) {}

    Fixture fixture() throws IOException {
        Path dir = TinyModels.writeDir(tmp.resolve("m"), TinyModels.llamaConfig(), TinyModels.randomNet(TinyModels.llamaConfig(), 11), DType.F32, true);
        LanguageModel m = LanguageModel.load(dir);
        QuestionFormat f = new QuestionFormat(null, "{question}");
        var r = new KnowledgeRequest(KnowledgeRequest.Kind.EDIT, PROMPT, null, "red", "france");
        EditPrompts e = EditPrompts.of("rome", m, f, r, List.of(""), true, false).get(0);
        var tok = m.tokenizer();
        return new Fixture(m, e, tok.encodePrompt(PROMPT), f.answerIds(tok, "red"), tok.encodePrompt("the capital of france").length - 1,
                tok.encodePrompt("france is a"), tok.encodePrompt("france").length - 1);
    }

    /** The target's mean token NLL with δ added to the layer's MLP output at the subject. */
    static double nll(Fixture x, Tensor delta) {
        try (NoGradGuard g = new NoGradGuard();
                SiteHooks.Handle h = x.m.net().sites().add(LAYER, Site.MLP_OUT, SiteHook.addAt(new long[] {0}, new long[] {x.subjectPos}, delta))) {
            float[] lp = Tensors.toFloats(Scorer.targetLogprobs(x.m.net(), List.of(x.prompt), List.of(x.target), x.m.tokenizer().padId()));
            double s = 0;
            for (float v : lp) s -= v;
            return s / lp.length;
        }
    }

    /** KL(before ‖ after) of the next token after "france is a", δ added at "france". */
    static double essenceKl(Fixture x, Tensor delta) {
        long[] any = {3};
        try (NoGradGuard g = new NoGradGuard()) {
            Tensor before = Scorer.targetDistributions(x.m.net(), List.of(x.essence), List.of(any), x.m.tokenizer().padId()).view(-1);
            try (SiteHooks.Handle h = x.m.net().sites().add(LAYER, Site.MLP_OUT, SiteHook.addAt(new long[] {0}, new long[] {x.essencePos}, delta))) {
                Tensor after = Scorer.targetDistributions(x.m.net(), List.of(x.essence), List.of(any), x.m.tokenizer().padId()).view(-1);
                return Tensors.item(before.exp().mul(before.sub(after)).sum());
            }
        }
    }

    @Test
    void firstAdamStepDescendsTheNllGradient() throws IOException {
        Fixture x = fixture();
        try (PointerScope s = new PointerScope()) {
            double lr = 0.01;
            float[] delta = Tensors.toFloats(x.edit.optimiseDelta(LAYER, Site.MLP_OUT, new EditPrompts.ValueSettings(1, lr, 0, 0, 100)));
            int d = delta.length, checked = 0;
            // At δ = 0 the weight decay and the KL have no gradient: Adam's first step is −lr · sign(∂NLL/∂δ).
            for (int i = 0; i < d; i++) {
                float[] e = new float[d];
                double h = 1e-3;
                e[i] = (float) h;
                double up = nll(x, Tensors.floats(e));
                e[i] = (float) -h;
                double grad = (up - nll(x, Tensors.floats(e))) / (2 * h);
                if (Math.abs(grad) < 1e-3) continue;
                assertEquals(-lr * Math.signum(grad), delta[i], 1e-4, "coordinate " + i + " (gradient " + grad + ")");
                checked++;
            }
            assertTrue(checked >= d / 2, "most coordinates have a clear gradient: " + checked + " of " + d);
        }
        x.m.close();
    }

    @Test
    void clampWeightDecayAndKlEachDoTheirPart() throws IOException {
        Fixture x = fixture();
        try (PointerScope s = new PointerScope()) {
            double ref = Tensors.item(x.edit.activation(LAYER, Site.MLP_OUT).norm());
            // Clamp: a large rate pushes δ past 0.05 × ‖the original output‖, and it is cut back to that length.
            Tensor clamped = x.edit.optimiseDelta(LAYER, Site.MLP_OUT, new EditPrompts.ValueSettings(20, 1.0, 0, 0, 0.05));
            assertEquals(0.05 * ref, Tensors.item(clamped.norm()), 1e-4 * ref);
            // Weight decay: the same optimisation with a heavy decay ends shorter.
            double free = Tensors.item(x.edit.optimiseDelta(LAYER, Site.MLP_OUT, new EditPrompts.ValueSettings(20, 0.05, 0, 0, 100)).norm());
            double decayed = Tensors.item(x.edit.optimiseDelta(LAYER, Site.MLP_OUT, new EditPrompts.ValueSettings(20, 0.05, 50, 0, 100)).norm());
            assertTrue(decayed < 0.9 * free, "decay " + decayed + " vs " + free);
            // KL: with it, "france is a" keeps more of its original next-token distribution.
            Tensor noKl = x.edit.optimiseDelta(LAYER, Site.MLP_OUT, new EditPrompts.ValueSettings(20, 0.05, 0, 0, 100));
            Tensor withKl = x.edit.optimiseDelta(LAYER, Site.MLP_OUT, new EditPrompts.ValueSettings(20, 0.05, 0, 50, 100));
            double klFree = essenceKl(x, noKl), klKept = essenceKl(x, withKl);
            assertTrue(klKept < 0.8 * klFree, "KL " + klKept + " with the term vs " + klFree + " without");
            // And none of them stops δ from lowering the target's NLL.
            assertTrue(nll(x, withKl) < nll(x, Tensors.zeros(org.bytedeco.pytorch.global.torch.ScalarType.Float, clamped.size(0))));
        }
        x.m.close();
    }
}
