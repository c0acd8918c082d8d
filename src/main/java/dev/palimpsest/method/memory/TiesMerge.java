package dev.palimpsest.method.memory;

import java.util.ArrayList;
import java.util.List;

import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import dev.palimpsest.tensor.Tensors;

/**
 * TIES merging of task vectors (Yadav et al. 2023), as WISE merges its knowledge shards: trim each vector to its
 * {@code density} share of largest-magnitude entries, elect each entry's sign by the sum of the trimmed values,
 * and average, entry by entry, only the trimmed values that agree with the elected sign.
 */
final class TiesMerge {
    private TiesMerge() {}

    static Tensor merge(List<Tensor> vectors, double density) {
        if (vectors.isEmpty()) throw new IllegalArgumentException("nothing to merge");
        try (NoGradGuard g = new NoGradGuard()) {
            List<Tensor> trimmed = new ArrayList<>();
            for (Tensor v : vectors) trimmed.add(trim(v.toType(ScalarType.Float), density));
            Tensor t = Tensors.stack(trimmed);
            Tensor elected = Tensors.sum(t, 0).sign();
            Tensor agree = t.sign().eq(elected.unsqueeze(0)).logical_and(t.ne(Tensors.scalar(0.0))).toType(ScalarType.Float);
            return Tensors.sum(t.mul(agree), 0).div(Tensors.sum(agree, 0).clamp_min(Tensors.scalar(1.0)));
        }
    }

    /** Keeps the ⌈density·n⌉ entries of largest magnitude (ties at the cut kept too), zeroes the rest. */
    static Tensor trim(Tensor v, double density) {
        long n = v.numel(), keep = (long) Math.ceil(density * n);
        if (keep >= n) return v;
        if (keep <= 0) return v.mul(Tensors.scalar(0.0));
        Tensor mag = v.abs().reshape(-1);
        Tensor cut = mag.kthvalue(n - keep + 1).get0();
        return v.mul(v.abs().ge(cut).toType(ScalarType.Float));
    }
}
