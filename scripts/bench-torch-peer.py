"""The PyTorch CPU peer of `lora-study bench` (issue 12): the same shape and the same training step
in plain torch (no transformers/peft), so the tokens/s ratio can be reproduced on any machine with torch.

The shapes are not written here: they are bench's own (src/evaluation/bench-shapes.ts), read as the
JSON document `lora-study bench --print-shapes` prints, so the two cannot drift. `bench --peer` runs
this script itself, one shape per process, after its own rows; by hand:

  npx lora-study bench --print-shapes | /usr/bin/python3 scripts/bench-torch-peer.py --shapes - \
      --shape gpt2-124m [--threads 2] [--steps 4]

Models, built from the shape's Hugging Face config with random weights, fp32, base frozen:
- gpt2: transformers' GPT2Block (pre-LN, fused c_attn, gelu_new, no dropout as in bench), head tied to wte;
- llama: transformers' LlamaDecoderLayer in eager mode (RMSNorm, rotary with rotate_half, grouped
  KV heads, SwiGLU), untied head unless tie_word_embeddings.
LoRA (PEFT's: y = W x + b + (alpha/r) B A x, no dropout) on the shape's target modules; the step is
bench's: random tokens, every position labelled, full-sequence causal-LM loss (position t predicts
t+1), global-norm clipping, AdamW with the shape document's hyper-parameters. The first two steps are
warm-up. Prints one JSON document; {"skipped": reason} without torch.
"""
import argparse
import json
import math
import os
import re
import resource
import sys
import time

# Idle OpenMP threads sleep instead of spinning (unless the caller chose a policy): with the default,
# torch's OpenMP threads and OpenBLAS's own pthreads fight over the cores, and on a 2-vCPU VM the
# GPT-2 step took 1.3-1.4 s instead of 0.58. Set before torch loads libgomp, which reads it once.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except Exception as e:  # torch absent: say so, do not fail
    print(json.dumps({"skipped": f"torch not importable: {e}"}))
    sys.exit(0)


class LoraLinear(nn.Module):
    """A frozen linear (nn.Linear's [out, in] weight, or HF Conv1D's [in, out] when conv1d) plus PEFT LoRA."""

    def __init__(self, nin, nout, bias, lora, conv1d=False):
        super().__init__()
        shape = (nin, nout) if conv1d else (nout, nin)
        self.conv1d = conv1d
        self.weight = nn.Parameter(torch.randn(*shape) * 0.02, requires_grad=False)
        self.bias = nn.Parameter(torch.zeros(nout), requires_grad=False) if bias else None
        self.r = lora["r"] if lora else 0
        if self.r:
            self.lora_A = nn.Parameter(torch.empty(self.r, nin))
            nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
            self.lora_B = nn.Parameter(torch.zeros(nout, self.r))
            self.scale = lora["alpha"] / self.r

    def forward(self, x):
        y = x @ self.weight if self.conv1d else F.linear(x, self.weight)
        if self.bias is not None:
            y = y + self.bias
        if self.r:
            y = y + (x @ self.lora_A.t() @ self.lora_B.t()) * self.scale
        return y


def targeted(name, lora):
    """PEFT's suffix match of target_modules against the module's name."""
    return lora if any(name == t or name.endswith("." + t) for t in lora["targetModules"]) else None


def frozen(module):
    for p in module.parameters():
        p.requires_grad = False
    return module


def causal_attention(q, k, v):
    """Eager attention as transformers computes it: softmax(q kᵀ / √d + causal mask) v; q, k, v [B, H, T, d]."""
    T = q.size(-2)
    att = (q @ k.transpose(-2, -1)) / math.sqrt(q.size(-1))
    mask = torch.full((T, T), torch.finfo(att.dtype).min).triu(1)
    return (att + mask).softmax(-1) @ v


# ---------------------------------------------------------------- gpt2

def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class GPT2Block(nn.Module):
    def __init__(self, c, i, lora):
        super().__init__()
        d, eps = c["n_embd"], c.get("layer_norm_epsilon", 1e-5)
        inner = c.get("n_inner") or 4 * d
        p = f"transformer.h.{i}"
        self.h = c["n_head"]
        self.ln_1 = frozen(nn.LayerNorm(d, eps=eps))
        self.c_attn = LoraLinear(d, 3 * d, True, targeted(f"{p}.attn.c_attn", lora), conv1d=True)
        self.c_proj = LoraLinear(d, d, True, targeted(f"{p}.attn.c_proj", lora), conv1d=True)
        self.ln_2 = frozen(nn.LayerNorm(d, eps=eps))
        self.c_fc = LoraLinear(d, inner, True, targeted(f"{p}.mlp.c_fc", lora), conv1d=True)
        self.mlp_proj = LoraLinear(inner, d, True, targeted(f"{p}.mlp.c_proj", lora), conv1d=True)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.h, C // self.h).transpose(1, 2) for t in (q, k, v))
        y = causal_attention(q, k, v).transpose(1, 2).reshape(B, T, C)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(gelu_new(self.c_fc(self.ln_2(x))))


class GPT2(nn.Module):
    def __init__(self, c, lora):
        super().__init__()
        act = c.get("activation_function", "gelu_new")
        if act != "gelu_new":
            raise SystemExit(f"bench-torch-peer: gpt2 activation_function {act!r} is not implemented (only gelu_new)")
        d = c["n_embd"]
        self.wte = nn.Parameter(torch.randn(c["vocab_size"], d) * 0.02, requires_grad=False)
        self.wpe = nn.Parameter(torch.randn(c.get("n_positions", 1024), d) * 0.01, requires_grad=False)
        self.h = nn.ModuleList(GPT2Block(c, i, lora) for i in range(c["n_layer"]))
        self.ln_f = frozen(nn.LayerNorm(d, eps=c.get("layer_norm_epsilon", 1e-5)))
        tied = c.get("tie_word_embeddings", True)
        self.lm_head = None if tied else nn.Parameter(torch.randn(c["vocab_size"], d) * 0.02, requires_grad=False)

    def forward(self, ids):
        x = self.wte[ids] + self.wpe[: ids.size(1)]
        for b in self.h:
            x = b(x)
        return self.ln_f(x) @ (self.wte if self.lm_head is None else self.lm_head).t()


# ---------------------------------------------------------------- llama

class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d), requires_grad=False)
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class LlamaLayer(nn.Module):
    def __init__(self, c, i, lora):
        super().__init__()
        d, eps = c["hidden_size"], c.get("rms_norm_eps", 1e-6)
        self.h = c["num_attention_heads"]
        self.kv = c.get("num_key_value_heads") or self.h
        self.hd = c.get("head_dim") or d // self.h
        inter = c["intermediate_size"]
        ab, mb = c.get("attention_bias", False), c.get("mlp_bias", False)
        act = c.get("hidden_act", "silu")
        if act != "silu":
            raise SystemExit(f"bench-torch-peer: llama hidden_act {act!r} is not implemented (only silu)")
        p = f"model.layers.{i}"
        lin = lambda name, nin, nout, bias: LoraLinear(nin, nout, bias, targeted(f"{p}.{name}", lora))
        self.input_layernorm = RMSNorm(d, eps)
        self.q_proj = lin("self_attn.q_proj", d, self.h * self.hd, ab)
        self.k_proj = lin("self_attn.k_proj", d, self.kv * self.hd, ab)
        self.v_proj = lin("self_attn.v_proj", d, self.kv * self.hd, ab)
        self.o_proj = lin("self_attn.o_proj", self.h * self.hd, d, ab)
        self.post_attention_layernorm = RMSNorm(d, eps)
        self.gate_proj = lin("mlp.gate_proj", d, inter, mb)
        self.up_proj = lin("mlp.up_proj", d, inter, mb)
        self.down_proj = lin("mlp.down_proj", inter, d, mb)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(B, T, self.h, self.hd).transpose(1, 2)
        k = self.k_proj(h).view(B, T, self.kv, self.hd).transpose(1, 2)
        v = self.v_proj(h).view(B, T, self.kv, self.hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        rep = self.h // self.kv  # transformers' repeat_kv
        if rep > 1:
            k = k[:, :, None].expand(B, self.kv, rep, T, self.hd).reshape(B, self.h, T, self.hd)
            v = v[:, :, None].expand(B, self.kv, rep, T, self.hd).reshape(B, self.h, T, self.hd)
        y = causal_attention(q, k, v).transpose(1, 2).reshape(B, T, self.h * self.hd)
        x = x + self.o_proj(y)
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Llama(nn.Module):
    def __init__(self, c, lora):
        super().__init__()
        d, vocab = c["hidden_size"], c["vocab_size"]
        self.embed_tokens = nn.Parameter(torch.randn(vocab, d) * 0.02, requires_grad=False)
        self.layers = nn.ModuleList(LlamaLayer(c, i, lora) for i in range(c["num_hidden_layers"]))
        self.norm = RMSNorm(d, c.get("rms_norm_eps", 1e-6))
        tied = c.get("tie_word_embeddings", False)
        self.lm_head = None if tied else nn.Parameter(torch.randn(vocab, d) * 0.02, requires_grad=False)
        hd = self.layers[0].hd
        self.inv_freq = 1.0 / (c.get("rope_theta", 10000.0) ** (torch.arange(0, hd, 2).float() / hd))

    def forward(self, ids):
        T = ids.size(1)
        freqs = torch.outer(torch.arange(T).float(), self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        x = self.embed_tokens[ids]
        for layer in self.layers:
            x = layer(x, cos, sin)
        return self.norm(x) @ (self.embed_tokens if self.lm_head is None else self.lm_head).t()


ARCHITECTURES = {"gpt2": GPT2, "llama": Llama}


# ---------------------------------------------------------------- BLAS and the run

def blas_info():
    """What torch multiplies with: its build's BLAS_INFO and the BLAS/MKL libraries this process mapped."""
    m = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    libs = sorted({os.path.realpath(l.split()[-1]) for l in open("/proc/self/maps")
                   if re.search(r"blas|mkl|blis", l.split()[-1], re.I) and "/" in l})
    return {"torchBlasInfo": m.group(1) if m else "unknown", "libraries": libs}


def read_shapes(arg):
    text = sys.stdin.read() if arg == "-" else open(arg).read() if os.path.exists(arg) else arg
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise SystemExit(f"bench-torch-peer: --shapes is not the JSON `lora-study bench --print-shapes` prints ({e})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shapes", required=True, help="`lora-study bench --print-shapes` output: a file, '-' for stdin, or the JSON itself")
    ap.add_argument("--shape", help="the shape's name (needed when the document has more than one)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--steps", type=int, help="training steps, the first two untimed (default: the shape's)")
    ap.add_argument("--count-only", action="store_true", help="build the model, print its parameter counts, do not train")
    a = ap.parse_args()
    doc = read_shapes(a.shapes)
    shapes = doc["shapes"]
    if a.shape is None and len(shapes) != 1:
        raise SystemExit(f"bench-torch-peer: name a shape with --shape ({', '.join(s['name'] for s in shapes)})")
    picked = [s for s in shapes if a.shape is None or s["name"] == a.shape]
    if not picked:
        raise SystemExit(f"bench-torch-peer: no shape {a.shape!r} (have {', '.join(s['name'] for s in shapes)})")
    s, t = picked[0], doc["train"]
    c = s["config"]
    if c["model_type"] not in ARCHITECTURES:
        raise SystemExit(f"bench-torch-peer: model_type {c['model_type']!r} has no peer here (have {', '.join(ARCHITECTURES)})")
    if s.get("quantization", "fp32") != "fp32":
        raise SystemExit(f"bench-torch-peer: shape {s['name']} has {s['quantization']} base weights; the peer is fp32 only")

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = ARCHITECTURES[c["model_type"]](c, s["lora"])
    params = sum(p.numel() for p in model.parameters())
    trainable = [p for p in model.parameters() if p.requires_grad]
    n_trainable = sum(p.numel() for p in trainable)
    if a.count_only:
        print(json.dumps({"shape": s["name"], "modelType": c["model_type"], "params": params - n_trainable, "trainableParams": n_trainable}))
        return
    opt = torch.optim.AdamW(trainable, lr=t["learningRate"], betas=(t["beta1"], t["beta2"]), eps=t["epsilon"],
                            weight_decay=t["weightDecay"])
    steps = max(3, a.steps or s["steps"])
    B, T, V = s["batchSize"], s["seqLen"], c["vocab_size"]
    times = []
    for _ in range(steps):
        ids = torch.randint(0, V, (B, T))
        t0 = time.perf_counter()
        logits = model(ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if t["maxGradNorm"] > 0:
            torch.nn.utils.clip_grad_norm_(trainable, t["maxGradNorm"])
        opt.step()
        last = float(loss)  # bench reads the loss every step too
        times.append(time.perf_counter() - t0)
    timed = times[2:]
    ms = sum(timed) / len(timed) * 1e3
    print(json.dumps({
        "shape": s["name"], "modelType": c["model_type"], "torch": torch.__version__,
        "threads": torch.get_num_threads(), "blas": blas_info(),
        "params": params - n_trainable, "trainableParams": n_trainable,
        "batchSize": B, "seqLen": T, "steps": steps, "timedSteps": len(timed),
        "msPerStep": ms, "trainTokensPerS": B * T * 1e3 / ms,
        "stepMs": [round(x * 1e3, 2) for x in times], "lastLoss": last,
        "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }, indent=2))


if __name__ == "__main__":
    main()
