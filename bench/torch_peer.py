#!/usr/bin/env python3
"""The Python PyTorch peer of `palimpsest bench forward|train`: the same Llama shape and token load,
written in plain torch (no transformers), timed the same way (median of repeats after a warm-up).

    /usr/bin/python3 bench/torch_peer.py --mode score --dtype bfloat16 --json

Needs Debian's python3-torch and libopenblas0-pthread (apt install python3-torch libopenblas0-pthread).
--dtype bfloat16 runs fp32 weights under torch.autocast("cpu", dtype=torch.bfloat16), what a PyTorch
user writes; --dtype bfloat16-weights holds the weights in bf16 instead.
"""
import argparse
import json
import math
import os
import statistics
import time

import torch
import torch.nn.functional as F


def rms_norm(x, w, eps=1e-5):
    xf = x.float()
    return w * (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype)


def attend(q, k, v, past):
    """Eager attention as transformers writes it (torch 1.13 has no scaled_dot_product_attention):
    softmax in fp32, causal over the new tokens."""
    t, keys = q.shape[2], k.shape[2]
    s = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(q.shape[-1])
    if t > 1:
        s = s + torch.full((t, keys), float("-inf")).triu(keys - t + 1).to(s.dtype)
    return torch.matmul(F.softmax(s, dim=-1, dtype=torch.float32).to(q.dtype), v)


class Llama(torch.nn.Module):
    def __init__(self, a, dtype):
        super().__init__()
        self.a = a
        d, hd = a.hidden, a.hidden // a.heads
        self.hd = hd

        def lin(o, i):
            return torch.nn.Parameter(torch.randn(o, i, dtype=dtype) * 0.02)

        self.embed = torch.nn.Parameter(torch.randn(a.vocab, d, dtype=dtype) * 0.02)
        self.layers = torch.nn.ModuleList()
        for _ in range(a.layers):
            m = torch.nn.Module()
            m.n1 = torch.nn.Parameter(torch.ones(d, dtype=dtype))
            m.q, m.k, m.v = lin(a.heads * hd, d), lin(a.kv_heads * hd, d), lin(a.kv_heads * hd, d)
            m.o = lin(d, a.heads * hd)
            m.n2 = torch.nn.Parameter(torch.ones(d, dtype=dtype))
            m.gate, m.up, m.down = lin(a.intermediate, d), lin(a.intermediate, d), lin(d, a.intermediate)
            self.layers.append(m)
        self.norm = torch.nn.Parameter(torch.ones(d, dtype=dtype))
        self.head = lin(a.vocab, d)
        inv = 1.0 / (10000.0 ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        self.register_buffer("inv", inv)

    def rope(self, pos):
        f = pos.float()[:, None] * self.inv[None, :]
        e = torch.cat([f, f], -1)
        return e.cos()[None, None], e.sin()[None, None]

    @staticmethod
    def rot(x, cos, sin):
        h = x.shape[-1] // 2
        return x * cos.to(x.dtype) + torch.cat([-x[..., h:], x[..., :h]], -1) * sin.to(x.dtype)

    def forward(self, ids, cache=None, past=0):
        a, hd = self.a, self.hd
        b, t = ids.shape
        h = F.embedding(ids, self.embed)
        cos, sin = self.rope(torch.arange(past, past + t))
        for i, m in enumerate(self.layers):
            x = rms_norm(h, m.n1)
            q = F.linear(x, m.q).view(b, t, a.heads, hd).transpose(1, 2)
            k = F.linear(x, m.k).view(b, t, a.kv_heads, hd).transpose(1, 2)
            v = F.linear(x, m.v).view(b, t, a.kv_heads, hd).transpose(1, 2)
            q, k = self.rot(q, cos, sin), self.rot(k, cos, sin)
            if cache is not None:
                if i in cache:
                    k = torch.cat([cache[i][0], k], 2)
                    v = torch.cat([cache[i][1], v], 2)
                cache[i] = (k, v)
            g = a.heads // a.kv_heads
            if g > 1:
                k, v = k.repeat_interleave(g, 1), v.repeat_interleave(g, 1)
            o = attend(q, k, v, past)
            h = h + F.linear(o.transpose(1, 2).reshape(b, t, -1), m.o)
            x = rms_norm(h, m.n2)
            h = h + F.linear(F.silu(F.linear(x, m.gate)) * F.linear(x, m.up), m.down)
        return F.linear(rms_norm(h, self.norm), self.head)


def timed(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=["score", "generate", "train"], default="score")
    p.add_argument("--dtype", choices=["float32", "bfloat16", "bfloat16-weights"], default="float32")
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--hidden", type=int, default=768)
    p.add_argument("--intermediate", type=int, default=2048)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--kv-heads", type=int, default=12)
    p.add_argument("--vocab", type=int, default=32000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--gen-batch", type=int, default=8)
    p.add_argument("--gen-prompt", type=int, default=64)
    p.add_argument("--gen-tokens", type=int, default=32)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    weights = torch.bfloat16 if a.dtype == "bfloat16-weights" else torch.float32
    model = Llama(a, weights)
    auto = a.dtype == "bfloat16"
    ids = torch.randint(0, a.vocab, (a.batch, a.seq))

    def ctx():
        return torch.autocast("cpu", dtype=torch.bfloat16) if auto else torch.autocast("cpu", enabled=False)

    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "mode": a.mode, "dtype": a.dtype}
    if a.mode == "score":
        def run():
            with torch.no_grad(), ctx():
                model(ids)
        s = timed(run, a.repeats)
        out["scoreTokensPerSecond"] = a.batch * a.seq / s
    elif a.mode == "train":
        opt = torch.optim.AdamW(model.parameters(), lr=1e-5)

        def run():
            opt.zero_grad()
            with ctx():
                logits = model(ids)
            loss = F.cross_entropy(logits[:, :-1].float().reshape(-1, a.vocab), ids[:, 1:].reshape(-1))
            loss.backward()
            opt.step()
        s = timed(run, a.repeats)
        out["trainTokensPerSecond"] = a.batch * a.seq / s
    else:
        prompts = torch.randint(0, a.vocab, (a.gen_batch, a.gen_prompt))

        def run():
            with torch.no_grad(), ctx():
                cache = {}
                logits = model(prompts, cache, 0)
                nxt = logits[:, -1].argmax(-1, keepdim=True)
                for i in range(a.gen_tokens - 1):
                    logits = model(nxt, cache, a.gen_prompt + i)
                    nxt = logits[:, -1].argmax(-1, keepdim=True)
        s = timed(run, max(1, a.repeats // 2))
        out["genTokensPerSecond"] = a.gen_batch * a.gen_tokens / s
    out["seconds"] = s
    print(json.dumps(out) if a.json else out)


if __name__ == "__main__":
    main()
