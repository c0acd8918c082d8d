#!/usr/bin/env python3
"""Independent reference forward passes for the model families palimpsest implements, written from the
equations of each family's published modelling code (not copied from it, and not using transformers).

For every family it draws a tiny random checkpoint (fp32 weights), runs the reference in float64 on
fixed token ids, and writes a fixture folder that the Java conformance test (FamilyReferenceTest) loads:

    src/test/resources/families/<name>/config.json         the Hugging Face config
    src/test/resources/families/<name>/model.safetensors   the weights (F32)
    src/test/resources/families/<name>/expected.json       ids and the reference's log-softmax rows

Regenerate with Debian's PyTorch (apt install python3-torch):
    /usr/bin/python3 src/test/python/family_reference.py
"""
import json
import math
import os
import struct
import sys

import torch

torch.set_default_dtype(torch.float64)
VOCAB = 48
IDS = [1, 7, 22, 3, 45, 9, 30, 12, 5, 40, 17]


# ---------- the pieces, as the papers and model cards define them ----------

def rms_norm(x, w, eps, offset=0.0):
    """x / sqrt(mean(x^2) + eps), scaled by (offset + w): offset 1 for Gemma's zero-centred weights."""
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * (offset + w)


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def gelu_exact(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def silu(x):
    return x / (1.0 + torch.exp(-x))


def rope_half(x, pos, rot, theta, ext=None, mscale=1.0):
    """Rotary embedding on the first `rot` dims of each head, pairing dim i with i + rot/2 (rotate-half).
    longrope: each frequency divided by its factor `ext`, cos and sin scaled by `mscale`."""
    inv = 1.0 / theta ** (torch.arange(0, rot, 2, dtype=torch.float64) / rot)
    if ext is not None:
        inv = inv / torch.tensor(ext, dtype=torch.float64)
    ang = pos[:, None] * inv[None, :]                      # [T, rot/2]
    cos, sin = torch.cos(ang) * mscale, torch.sin(ang) * mscale
    a, b, rest = x[..., : rot // 2], x[..., rot // 2: rot], x[..., rot:]
    return torch.cat([a * cos - b * sin, b * cos + a * sin, rest], -1)


def rope_interleaved(x, pos, rot, theta):
    """Rotary embedding on the first `rot` dims, pairing dims 2i and 2i+1 (GPT-J's rotate-every-two)."""
    inv = 1.0 / theta ** (torch.arange(0, rot, 2, dtype=torch.float64) / rot)
    ang = pos[:, None] * inv[None, :]
    cos, sin = torch.cos(ang), torch.sin(ang)
    even, odd, rest = x[..., 0:rot:2], x[..., 1:rot:2], x[..., rot:]
    out = torch.stack([even * cos - odd * sin, odd * cos + even * sin], -1).flatten(-2)
    return torch.cat([out, rest], -1)


def attention(q, k, v, scale, softcap=None, window=None):
    """q [H, T, d], k/v [Hkv, T, d]; causal, optionally a sliding window (key j seen by query i when i - j < window)."""
    h, t = q.shape[0], q.shape[1]
    rep = h // k.shape[0]
    k = k.repeat_interleave(rep, 0)
    v = v.repeat_interleave(rep, 0)
    s = q @ k.transpose(1, 2) * scale
    if softcap is not None:
        s = torch.tanh(s / softcap) * softcap
    i = torch.arange(t)[:, None]
    j = torch.arange(t)[None, :]
    allowed = j <= i
    if window is not None:
        allowed = allowed & (i - j < window)
    s = s.masked_fill(~allowed, float("-inf"))
    return torch.softmax(s, -1) @ v                          # [H, T, d]


def heads(x, n, d):
    return x.view(x.shape[0], n, d).transpose(0, 1)         # [T, n*d] -> [n, T, d]


def merge(x):
    return x.transpose(0, 1).reshape(x.shape[1], -1)


# ---------- families ----------

class Draw:
    """Seeded random weights: matrices N(0, 0.3), norm weights near their identity value, biases small."""

    def __init__(self, seed):
        self.g = torch.Generator().manual_seed(seed)
        self.w = {}

    def mat(self, name, *shape):
        self.w[name] = (torch.randn(*shape, generator=self.g, dtype=torch.float32) * 0.3).double()
        return self.w[name]

    def norm(self, name, n, centre=1.0):
        self.w[name] = (centre + torch.randn(n, generator=self.g, dtype=torch.float32) * 0.1).double()
        return self.w[name]

    def bias(self, name, n):
        self.w[name] = (torch.randn(n, generator=self.g, dtype=torch.float32) * 0.1).double()
        return self.w[name]


def llama_like(cfg, seed, variant):
    """Llama's block with the variations of Qwen3 (q/k norms), Gemma (1+w norms, scaled embeddings,
    GeGLU), Gemma 2 (sandwich norms, soft-capping, query_pre_attn_scalar, alternating sliding window) and
    Phi-3 (fused qkv and gate_up projections, partial rotary)."""
    d, nh, nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim", d // nh)
    ff, layers, eps = cfg["intermediate_size"], cfg["num_hidden_layers"], cfg["rms_norm_eps"]
    gemma = variant in ("gemma", "gemma2")
    centre = 0.0 if gemma else 1.0
    offset = 1.0 if gemma else 0.0
    rot = int(hd * cfg.get("partial_rotary_factor", 1.0))
    r = Draw(seed)
    emb = r.mat("model.embed_tokens.weight", VOCAB, d)
    L = []
    for i in range(layers):
        p = f"model.layers.{i}."
        lw = {"in": r.norm(p + "input_layernorm.weight", d, centre)}
        if variant == "phi3":
            lw["qkv"] = r.mat(p + "self_attn.qkv_proj.weight", (nh + 2 * nkv) * hd, d)
        else:
            lw["q"] = r.mat(p + "self_attn.q_proj.weight", nh * hd, d)
            lw["k"] = r.mat(p + "self_attn.k_proj.weight", nkv * hd, d)
            lw["v"] = r.mat(p + "self_attn.v_proj.weight", nkv * hd, d)
        lw["o"] = r.mat(p + "self_attn.o_proj.weight", d, nh * hd)
        if variant == "qwen3":
            lw["qn"] = r.norm(p + "self_attn.q_norm.weight", hd)
            lw["kn"] = r.norm(p + "self_attn.k_norm.weight", hd)
        lw["post"] = r.norm(p + "post_attention_layernorm.weight", d, centre)
        if variant == "gemma2":
            lw["pre_ff"] = r.norm(p + "pre_feedforward_layernorm.weight", d, centre)
            lw["post_ff"] = r.norm(p + "post_feedforward_layernorm.weight", d, centre)
        if variant == "phi3":
            lw["gate_up"] = r.mat(p + "mlp.gate_up_proj.weight", 2 * ff, d)
        else:
            lw["gate"] = r.mat(p + "mlp.gate_proj.weight", ff, d)
            lw["up"] = r.mat(p + "mlp.up_proj.weight", ff, d)
        lw["down"] = r.mat(p + "mlp.down_proj.weight", d, ff)
        L.append(lw)
    final = r.norm("model.norm.weight", d, centre)
    head = emb if cfg.get("tie_word_embeddings", False) else r.mat("lm_head.weight", VOCAB, d)

    ids = torch.tensor(IDS)
    pos = torch.arange(len(IDS), dtype=torch.float64)
    x = emb[ids]
    if gemma:
        x = x * math.sqrt(d)
    act = gelu_tanh if gemma else silu
    scale = (cfg["query_pre_attn_scalar"] ** -0.5) if variant == "gemma2" else hd ** -0.5
    for i, lw in enumerate(L):
        a = rms_norm(x, lw["in"], eps, offset)
        if variant == "phi3":
            qkv = a @ lw["qkv"].T
            q, k, v = qkv.split([nh * hd, nkv * hd, nkv * hd], -1)
        else:
            q, k, v = a @ lw["q"].T, a @ lw["k"].T, a @ lw["v"].T
        q, k, v = heads(q, nh, hd), heads(k, nkv, hd), heads(v, nkv, hd)
        if variant == "qwen3":
            q, k = rms_norm(q, lw["qn"], eps), rms_norm(k, lw["kn"], eps)
        ext, mscale = None, 1.0
        rs = cfg.get("rope_scaling")
        if rs and rs["type"] == "longrope":
            # Phi-3's longrope: long factors once the sequence passes the original context; attention factor from the ratio.
            orig = cfg["original_max_position_embeddings"]
            ext = rs["long_factor"] if len(IDS) > orig else rs["short_factor"]
            ratio = cfg["max_position_embeddings"] / orig
            mscale = math.sqrt(1 + math.log(ratio) / math.log(orig)) if ratio > 1 else 1.0
        q = rope_half(q, pos, rot, cfg.get("rope_theta", 10000.0), ext, mscale)
        k = rope_half(k, pos, rot, cfg.get("rope_theta", 10000.0), ext, mscale)
        window = None
        if variant == "gemma2" and i % 2 == 0:
            window = cfg["sliding_window"]
        o = merge(attention(q, k, v, scale, cfg.get("attn_logit_softcapping"), window)) @ lw["o"].T
        if variant == "gemma2":
            x = x + rms_norm(o, lw["post"], eps, offset)
            m_in = rms_norm(x, lw["pre_ff"], eps, offset)
        else:
            x = x + o
            m_in = rms_norm(x, lw["post"], eps, offset)
        if variant == "phi3":
            gate, up = (m_in @ lw["gate_up"].T).chunk(2, -1)
        else:
            gate, up = m_in @ lw["gate"].T, m_in @ lw["up"].T
        m = (act(gate) * up) @ lw["down"].T
        if variant == "gemma2":
            m = rms_norm(m, lw["post_ff"], eps, offset)
        x = x + m
    x = rms_norm(x, final, eps, offset)
    logits = x @ head.T
    if variant == "gemma2" and cfg.get("final_logit_softcapping") is not None:
        c = cfg["final_logit_softcapping"]
        logits = torch.tanh(logits / c) * c
    return r.w, logits


def parallel(cfg, seed, variant):
    """Attention and MLP side by side, from LayerNorm: Phi (one norm, partial rotary, biases, gelu_new, lm_head
    bias), GPT-NeoX / Pythia (fused per-head query_key_value, partial rotary, two norms, exact gelu; with
    use_parallel_residual false the MLP reads the stream after attention) and GPT-J (one norm, interleaved rotary on
    rotary_dim, no attention biases, gelu_new, lm_head bias)."""
    r = Draw(seed)
    if variant == "gptj":
        d, nh, layers, eps = cfg["n_embd"], cfg["n_head"], cfg["n_layer"], cfg["layer_norm_epsilon"]
        ff = cfg.get("n_inner") or 4 * d
    else:
        d, nh, layers = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
        ff, eps = cfg["intermediate_size"], cfg["layer_norm_eps"]
    hd = d // nh
    if variant == "phi":
        rot = int(hd * cfg["partial_rotary_factor"])
        pre, emb_name = "model.layers.", "model.embed_tokens.weight"
    elif variant == "neox":
        rot = int(hd * cfg["rotary_pct"])
        pre, emb_name = "gpt_neox.layers.", "gpt_neox.embed_in.weight"
    else:
        rot = cfg["rotary_dim"]
        pre, emb_name = "transformer.h.", "transformer.wte.weight"
    theta = cfg.get("rope_theta", cfg.get("rotary_emb_base", 10000.0))
    emb = r.mat(emb_name, VOCAB, d)
    L = []
    for i in range(layers):
        p = f"{pre}{i}."
        lw = {}
        if variant == "phi":
            lw["ln_w"], lw["ln_b"] = r.norm(p + "input_layernorm.weight", d), r.bias(p + "input_layernorm.bias", d)
            for n in ("q", "k", "v"):
                lw[n] = (r.mat(p + f"self_attn.{n}_proj.weight", d, d), r.bias(p + f"self_attn.{n}_proj.bias", d))
            lw["o"] = (r.mat(p + "self_attn.dense.weight", d, d), r.bias(p + "self_attn.dense.bias", d))
            lw["fc1"] = (r.mat(p + "mlp.fc1.weight", ff, d), r.bias(p + "mlp.fc1.bias", ff))
            lw["fc2"] = (r.mat(p + "mlp.fc2.weight", d, ff), r.bias(p + "mlp.fc2.bias", d))
        elif variant == "neox":
            lw["ln_w"], lw["ln_b"] = r.norm(p + "input_layernorm.weight", d), r.bias(p + "input_layernorm.bias", d)
            lw["ln2_w"], lw["ln2_b"] = r.norm(p + "post_attention_layernorm.weight", d), r.bias(p + "post_attention_layernorm.bias", d)
            lw["qkv"] = (r.mat(p + "attention.query_key_value.weight", 3 * d, d), r.bias(p + "attention.query_key_value.bias", 3 * d))
            lw["o"] = (r.mat(p + "attention.dense.weight", d, d), r.bias(p + "attention.dense.bias", d))
            lw["fc1"] = (r.mat(p + "mlp.dense_h_to_4h.weight", ff, d), r.bias(p + "mlp.dense_h_to_4h.bias", ff))
            lw["fc2"] = (r.mat(p + "mlp.dense_4h_to_h.weight", d, ff), r.bias(p + "mlp.dense_4h_to_h.bias", d))
        else:
            lw["ln_w"], lw["ln_b"] = r.norm(p + "ln_1.weight", d), r.bias(p + "ln_1.bias", d)
            for n in ("q", "k", "v"):
                lw[n] = (r.mat(p + f"attn.{n}_proj.weight", d, d), None)
            lw["o"] = (r.mat(p + "attn.out_proj.weight", d, d), None)
            lw["fc1"] = (r.mat(p + "mlp.fc_in.weight", ff, d), r.bias(p + "mlp.fc_in.bias", ff))
            lw["fc2"] = (r.mat(p + "mlp.fc_out.weight", d, ff), r.bias(p + "mlp.fc_out.bias", d))
        L.append(lw)
    if variant == "phi":
        fw, fb = r.norm("model.final_layernorm.weight", d), r.bias("model.final_layernorm.bias", d)
        head = (r.mat("lm_head.weight", VOCAB, d), r.bias("lm_head.bias", VOCAB))
    elif variant == "neox":
        fw, fb = r.norm("gpt_neox.final_layer_norm.weight", d), r.bias("gpt_neox.final_layer_norm.bias", d)
        head = (r.mat("embed_out.weight", VOCAB, d), None)
    else:
        fw, fb = r.norm("transformer.ln_f.weight", d), r.bias("transformer.ln_f.bias", d)
        head = (r.mat("lm_head.weight", VOCAB, d), r.bias("lm_head.bias", VOCAB))

    def lin(x, wb):
        y = x @ wb[0].T
        return y if wb[1] is None else y + wb[1]

    act = gelu_exact if variant == "neox" else gelu_tanh
    rope = rope_interleaved if variant == "gptj" else rope_half
    ids = torch.tensor(IDS)
    pos = torch.arange(len(IDS), dtype=torch.float64)
    x = emb[ids]
    for lw in L:
        a = layer_norm(x, lw["ln_w"], lw["ln_b"], eps)
        if variant == "neox":
            qkv = lin(a, lw["qkv"]).view(len(IDS), nh, 3 * hd).transpose(0, 1)   # per head: q, k, v
            q, k, v = qkv[..., :hd], qkv[..., hd:2 * hd], qkv[..., 2 * hd:]
        else:
            q, k, v = heads(lin(a, lw["q"]), nh, hd), heads(lin(a, lw["k"]), nh, hd), heads(lin(a, lw["v"]), nh, hd)
        q, k = rope(q, pos, rot, theta), rope(k, pos, rot, theta)
        o = lin(merge(attention(q, k, v, hd ** -0.5)), lw["o"])
        if variant == "neox" and not cfg.get("use_parallel_residual", True):
            x = x + o
            x = x + lin(act(lin(layer_norm(x, lw["ln2_w"], lw["ln2_b"], eps), lw["fc1"])), lw["fc2"])
        else:
            m_in = layer_norm(x, lw["ln2_w"], lw["ln2_b"], eps) if variant == "neox" else a
            x = x + o + lin(act(lin(m_in, lw["fc1"])), lw["fc2"])
    x = layer_norm(x, fw, fb, eps)
    return r.w, lin(x, head)


def base(arch, model_type, **extra):
    cfg = {"architectures": [arch], "model_type": model_type, "vocab_size": VOCAB, "hidden_size": 16,
           "intermediate_size": 24, "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2,
           "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "max_position_embeddings": 64, "tie_word_embeddings": False,
           "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}
    cfg.update(extra)
    return cfg


FAMILIES = {
    "qwen3": (base("Qwen3ForCausalLM", "qwen3", head_dim=8, rope_theta=1000000.0), "qwen3"),
    "gemma": (base("GemmaForCausalLM", "gemma", head_dim=8, num_key_value_heads=1, tie_word_embeddings=True,
                   hidden_activation="gelu_pytorch_tanh"), "gemma"),
    "gemma2": (base("Gemma2ForCausalLM", "gemma2", head_dim=8, tie_word_embeddings=True, hidden_activation="gelu_pytorch_tanh",
                    query_pre_attn_scalar=6, attn_logit_softcapping=2.0, final_logit_softcapping=3.0,
                    sliding_window=3), "gemma2"),
    "phi3": (base("Phi3ForCausalLM", "phi3", partial_rotary_factor=0.5, hidden_act="silu"), "phi3"),
    # The 128k variants' longrope: 11 tokens pass an original context of 6 (long factors) but not one of 16 (short).
    "phi3-longrope": (base("Phi3ForCausalLM", "phi3", hidden_act="silu", head_dim=8, original_max_position_embeddings=6,
                           rope_scaling={"type": "longrope", "short_factor": [1.0, 1.5, 2.0, 3.0], "long_factor": [1.2, 2.5, 4.0, 7.0]}), "phi3"),
    "phi3-longrope-short": (base("Phi3ForCausalLM", "phi3", hidden_act="silu", head_dim=8, original_max_position_embeddings=16,
                                 rope_scaling={"type": "longrope", "short_factor": [1.0, 1.5, 2.0, 3.0], "long_factor": [1.2, 2.5, 4.0, 7.0]}), "phi3"),
}

PARALLEL = {
    "phi": ({"architectures": ["PhiForCausalLM"], "model_type": "phi", "vocab_size": VOCAB, "hidden_size": 16,
             "intermediate_size": 24, "num_hidden_layers": 2, "num_attention_heads": 4, "partial_rotary_factor": 0.5,
             "layer_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "gelu_new", "max_position_embeddings": 64,
             "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}, "phi"),
    "gptneox": ({"architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox", "vocab_size": VOCAB, "hidden_size": 16,
                 "intermediate_size": 24, "num_hidden_layers": 2, "num_attention_heads": 2, "rotary_pct": 0.25,
                 "rotary_emb_base": 10000, "layer_norm_eps": 1e-5, "hidden_act": "gelu", "use_parallel_residual": True,
                 "max_position_embeddings": 64, "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2,
                 "torch_dtype": "float32"}, "neox"),
    "gptneox-sequential": ({"architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox", "vocab_size": VOCAB,
                            "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 2, "num_attention_heads": 2,
                            "rotary_pct": 0.5, "rotary_emb_base": 10000, "layer_norm_eps": 1e-5, "hidden_act": "gelu",
                            "use_parallel_residual": False, "max_position_embeddings": 64, "tie_word_embeddings": False,
                            "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}, "neox"),
    "gptj": ({"architectures": ["GPTJForCausalLM"], "model_type": "gptj", "vocab_size": VOCAB, "n_embd": 16, "n_inner": 24,
              "n_layer": 2, "n_head": 2, "rotary_dim": 4, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new",
              "n_positions": 64, "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2,
              "torch_dtype": "float32"}, "gptj"),
}


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        b = t.to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "families")
    only = set(sys.argv[1:])
    every = [(n, c, v, llama_like) for n, (c, v) in FAMILIES.items()] + [(n, c, v, parallel) for n, (c, v) in PARALLEL.items()]
    for name, cfg, variant, forward in sorted(every, key=lambda e: e[0]):
        if only and name not in only:
            continue
        weights, logits = forward(cfg, sum(map(ord, name)), variant)  # a seed of its own per fixture
        out = os.path.join(root, name)
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        write_safetensors(os.path.join(out, "model.safetensors"), weights)
        logp = torch.log_softmax(logits, -1)
        with open(os.path.join(out, "expected.json"), "w") as f:
            json.dump({"ids": IDS, "logprobs": [[round(v, 9) for v in row.tolist()] for row in logp]}, f)
        print(name, "max |logit|", float(logits.abs().max()))


if __name__ == "__main__":
    main()
