package dev.palimpsest.model;

import java.util.List;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import dev.palimpsest.tensor.Tensors;

/**
 * Sequences of different lengths as one [batch, max-length] id tensor. Right padding suits scoring
 * (causal attention never lets a real token see the padding after it); left padding suits generation
 * (every row's next token is at the same column) and needs the key mask.
 */
public record PaddedBatch(Tensor ids, Tensor keyMask, int[] lengths, int width) {
    public static PaddedBatch right(List<long[]> seqs, long pad) {
        return build(seqs, pad, false);
    }

    public static PaddedBatch left(List<long[]> seqs, long pad) {
        return build(seqs, pad, true);
    }

    private static PaddedBatch build(List<long[]> seqs, long pad, boolean left) {
        int width = 0;
        for (long[] s : seqs) width = Math.max(width, s.length);
        long[] ids = new long[seqs.size() * width];
        long[] mask = new long[ids.length];
        int[] lengths = new int[seqs.size()];
        boolean padded = false;
        for (int b = 0; b < seqs.size(); b++) {
            long[] s = seqs.get(b);
            lengths[b] = s.length;
            int offset = left ? width - s.length : 0;
            padded |= s.length != width;
            for (int i = 0; i < width; i++) {
                int j = i - offset;
                boolean real = j >= 0 && j < s.length;
                ids[b * width + i] = real ? s[j] : pad;
                mask[b * width + i] = real ? 1 : 0;
            }
        }
        Tensor idTensor = Tensors.longs(ids, seqs.size(), width);
        Tensor maskTensor = padded && left ? Tensors.longs(mask, seqs.size(), width).toType(ScalarType.Bool) : null;
        return new PaddedBatch(idTensor, maskTensor, lengths, width);
    }
}
