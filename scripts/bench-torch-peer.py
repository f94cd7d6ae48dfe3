"""The PyTorch CPU peer of `lora-study bench`'s GPT-2-small row (issue 12): the same shape and step,
so the tokens/s ratio can be reproduced on any machine with torch.

  /usr/bin/python3 scripts/bench-torch-peer.py [--threads 2] [--steps 6] [--shape gpt2|tiny]

GPT-2 small (124M: 12 layers, 768 wide, 12 heads, vocab 50257, tied head, gelu_new), random
weights, batch 1x128 (tiny: the bench's tiny shape as a GPT-2 of hidden 64, batch 4x64), LoRA r = 8,
alpha 16 on c_attn only (base frozen), AdamW lr 1e-4, fp32, full-sequence causal-LM loss. Written in
plain torch (no transformers/peft needed); the block is transformers' GPT2Block. The first two
steps are warm-up. Prints one JSON document; {"skipped": reason} without torch.
"""
import argparse
import json
import math
import resource
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except Exception as e:  # torch absent: say so, do not fail
    print(json.dumps({"skipped": f"torch not importable: {e}"}))
    sys.exit(0)

SHAPES = {
    "gpt2": dict(n_embd=768, n_head=12, n_layer=12, vocab=50257, batch=1, seq=128),
    "tiny": dict(n_embd=64, n_head=4, n_layer=2, vocab=512, batch=4, seq=64),
}


class LoraConv1D(nn.Module):
    """HF Conv1D (x @ W + b, W [in, out]) plus PEFT LoRA: + (alpha/r) * x A^T B^T."""

    def __init__(self, nin, nout, r=0, alpha=16):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(nin, nout) * 0.02, requires_grad=False)
        self.bias = nn.Parameter(torch.zeros(nout), requires_grad=False)
        self.r = r
        if r:
            self.lora_A = nn.Parameter(torch.randn(r, nin) / math.sqrt(nin))
            self.lora_B = nn.Parameter(torch.zeros(nout, r))
            self.scale = alpha / r

    def forward(self, x):
        y = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight).view(*x.shape[:-1], -1)
        if self.r:
            y = y + (x @ self.lora_A.t() @ self.lora_B.t()) * self.scale
        return y


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Block(nn.Module):
    def __init__(self, d, h, r):
        super().__init__()
        self.h = h
        self.ln_1 = nn.LayerNorm(d, eps=1e-5)
        self.c_attn = LoraConv1D(d, 3 * d, r)
        self.c_proj = LoraConv1D(d, d)
        self.ln_2 = nn.LayerNorm(d, eps=1e-5)
        self.c_fc = LoraConv1D(d, 4 * d)
        self.mlp_proj = LoraConv1D(4 * d, d)

    def forward(self, x, mask):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.h, C // self.h).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // self.h)
        att = att.masked_fill(mask[:T, :T] == 0, torch.finfo(att.dtype).min).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(gelu_new(self.c_fc(self.ln_2(x))))


class GPT2(nn.Module):
    def __init__(self, s, r):
        super().__init__()
        d = s["n_embd"]
        self.wte = nn.Parameter(torch.randn(s["vocab"], d) * 0.02, requires_grad=False)
        self.wpe = nn.Parameter(torch.randn(1024, d) * 0.01, requires_grad=False)
        self.h = nn.ModuleList(Block(d, s["n_head"], r) for _ in range(s["n_layer"]))
        self.ln_f = nn.LayerNorm(d, eps=1e-5)
        for p in self.ln_f.parameters():
            p.requires_grad = False
        for b in self.h:
            for m in (b.ln_1, b.ln_2):
                for p in m.parameters():
                    p.requires_grad = False
        self.register_buffer("mask", torch.tril(torch.ones(1024, 1024)))

    def forward(self, ids):
        x = self.wte[ids] + self.wpe[: ids.size(1)]
        for b in self.h:
            x = b(x, self.mask)
        return self.ln_f(x) @ self.wte.t()  # tied head


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="gpt2")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    s = SHAPES[a.shape]
    model = GPT2(s, r=8)
    params = sum(p.numel() for p in model.parameters())
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=1e-4, weight_decay=0.0)
    times = []
    for step in range(a.steps):
        ids = torch.randint(0, s["vocab"], (s["batch"], s["seq"]))
        t0 = time.perf_counter()
        logits = model(ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, s["vocab"]), ids[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    timed = times[2:] if len(times) > 2 else times[-1:]
    ms = sum(timed) / len(timed) * 1e3
    print(json.dumps({
        "torch": torch.__version__, "shape": a.shape, "threads": torch.get_num_threads(),
        "params": params, "trainable": sum(p.numel() for p in trainable),
        "batch": f"{s['batch']}x{s['seq']}", "ms_per_step": round(ms, 1),
        "train_tokens_per_s": round(s["batch"] * s["seq"] * 1e3 / ms, 2),
        "step_ms": [round(t * 1e3, 1) for t in times], "last_loss": round(float(loss), 4),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
