package dev.palimpsest.train;

import java.util.List;

import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.SGDOptions;
import org.bytedeco.pytorch.Tensor;

import dev.palimpsest.tensor.Tensors;

/** libtorch's optimizers over a list of tensors. Their state lives in native memory, outside any PointerScope. */
public final class Optimizers {
    private Optimizers() {}

    /** AdamW (decoupled weight decay), betas (0.9, 0.999), eps 1e-8, as torch.optim.AdamW. */
    public static Optimizer adamW(List<Tensor> params, double lr, double weightDecay) {
        AdamWOptions o = new AdamWOptions(lr);
        o.weight_decay().put(weightDecay);
        return new AdamW(Tensors.vector(params), o);
    }

    /** Plain SGD with optional momentum. */
    public static Optimizer sgd(List<Tensor> params, double lr, double momentum) {
        SGDOptions o = new SGDOptions(lr);
        o.momentum().put(momentum);
        return new SGD(Tensors.vector(params), o);
    }

    /** Sets the learning rate of every parameter group (for schedules). */
    public static void setLr(Optimizer opt, double lr) {
        var groups = opt.param_groups();
        for (long i = 0; i < groups.size(); i++) groups.get(i).options().set_lr(lr);
    }
}
