#!/usr/bin/env python3
"""Independent numerical reference for lora-study's architectures.

Plain PyTorch, no transformers and none of this project's code: it reads a Hugging Face model
folder (config.json + safetensors parsed with struct/json/numpy) and runs the eager forward pass
of LlamaForCausalLM (also Mistral, Qwen2), GPT2LMHeadModel, PhiForCausalLM, Phi3ForCausalLM or
GemmaForCausalLM, transcribed from transformers (modeling_llama.py, modeling_qwen2.py,
modeling_gpt2.py 4.46; modeling_phi.py / modular_phi.py, modular_phi3.py, modular_gemma.py) in
float32, as transformers runs a float32 model. Prints one JSON document: input_ids, attention_mask, position_ids, logits.

    /usr/bin/python3 scripts/reference/hf_reference.py MODEL_DIR --input-ids '[[1, 2, 3]]' \
        [--attention-mask '[[1, 1, 0]]'] [--positions arange|cumsum] [--out FILE]

Positions: `arange` (0..T-1 for every row) is what a plain forward call uses, also with right
padding; `cumsum` is what generate() uses with left padding (mask.cumsum(-1) - 1, pads at 1).
tests/fixtures/reference/*/expected.json are made with it through scripts/reference/make-fixtures.ts.
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

# ---------------------------------------------------------------- loading (no safetensors package)

def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        raw = buf[base + b : base + end]
        if e["dtype"] == "F32":
            arr = np.frombuffer(raw, dtype="<f4")
        elif e["dtype"] == "F16":
            arr = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif e["dtype"] == "BF16":  # numpy has no bfloat16: it is the top half of a float32
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            continue  # non-float buffers are never parameters of these models
        out[name] = torch.from_numpy(arr.copy()).reshape(e["shape"])
    return out


def load_folder(folder):
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    index = os.path.join(folder, "model.safetensors.index.json")
    tensors = {}
    if os.path.exists(index):
        with open(index) as f:
            for shard in sorted(set(json.load(f)["weight_map"].values())):
                tensors.update(read_safetensors(os.path.join(folder, shard)))
    else:
        tensors = read_safetensors(os.path.join(folder, "model.safetensors"))
    return config, tensors

# ---------------------------------------------------------------- shared pieces

def act_fn(name):
    if name == "silu":
        return F.silu
    if name == "gelu_new":  # NewGELUActivation: the tanh approximation
        return lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
    if name == "gelu_pytorch_tanh":  # PytorchGELUTanh
        return lambda x: F.gelu(x, approximate="tanh")
    if name == "gelu":
        return F.gelu
    if name == "relu":
        return F.relu
    raise SystemExit(f"unsupported activation {name}")


def linear(x, w, b=None):  # nn.Linear: weight [out, in]
    return F.linear(x, w, b)


def conv1d(x, w, b):  # GPT-2 Conv1D: weight [in, out], addmm(bias, x, W)
    shape = x.shape[:-1] + (w.shape[1],)
    return torch.addmm(b, x.reshape(-1, x.shape[-1]), w).view(shape)

# ---------------------------------------------------------------- Llama / Mistral / Qwen2

def rms_norm(x, w, eps):
    dtype = x.dtype
    x = x.to(torch.float32)
    variance = x.pow(2).mean(-1, keepdim=True)
    x = x * torch.rsqrt(variance + eps)
    return w * x.to(dtype)


def gemma_rms_norm(x, w, eps):  # GemmaRMSNorm: gains stored as offsets from 1
    out = x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + eps)
    return (out * (1.0 + w.float())).type_as(x)


def apply_rotary(q, k, cos, sin):
    """Phi3's apply_rotary_pos_emb: rotates the first cos.shape[-1] dims, passes the rest."""
    rotary_dim = cos.shape[-1]
    q_rot, q_pass = q[..., :rotary_dim], q[..., rotary_dim:]
    k_rot, k_pass = k[..., :rotary_dim], k[..., rotary_dim:]
    q_embed = torch.cat([(q_rot * cos) + (rotate_half(q_rot) * sin), q_pass], dim=-1)
    k_embed = torch.cat([(k_rot * cos) + (rotate_half(k_rot) * sin), k_pass], dim=-1)
    return q_embed, k_embed


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def rope_cos_sin(position_ids, dim, base):
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    inv_freq_expanded = inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
    position_ids_expanded = position_ids[:, None, :].float()
    freqs = (inv_freq_expanded @ position_ids_expanded).transpose(1, 2)  # [B, T, dim/2]
    emb = torch.cat((freqs, freqs), dim=-1)  # [B, T, dim]
    return emb.cos(), emb.sin()


def repeat_kv(x, n_rep):  # [B, kv, T, D] -> [B, kv*n_rep, T, D]; head h reads kv head h // n_rep
    b, kv, t, d = x.shape
    if n_rep == 1:
        return x
    return x[:, :, None, :, :].expand(b, kv, n_rep, t, d).reshape(b, kv * n_rep, t, d)


def causal_4d_mask(attention_mask, b, t, dtype):
    """_prepare_4d_causal_attention_mask_with_cache_position: 0 where allowed, finfo.min elsewhere."""
    min_value = torch.finfo(dtype).min
    mask = torch.triu(torch.full((t, t), min_value, dtype=dtype), diagonal=1)[None, None].expand(b, 1, t, t).clone()
    if attention_mask is not None:
        padding = (mask + attention_mask[:, None, None, :].to(dtype)) == 0
        mask = mask.masked_fill(padding, min_value)
    return mask


def llama_forward(cfg, W, input_ids, attention_mask, position_ids):
    """Llama, Mistral, Qwen2; Phi3 (fused qkv_proj / gate_up_proj, partial rotary); Gemma (x·(1+w)
    RMSNorm, embeddings × √hidden, independent head_dim, GeGLU with tanh-gelu, tied head)."""
    mt = cfg["model_type"]
    hidden = cfg["hidden_size"]
    n_heads = cfg["num_attention_heads"]
    n_kv = cfg.get("num_key_value_heads") or n_heads
    head_dim = cfg.get("head_dim") or hidden // n_heads
    eps = cfg.get("rms_norm_eps", 1e-5 if mt == "phi3" else 1e-6)
    theta = cfg.get("rope_theta", 10000.0)
    if cfg.get("rope_scaling") is not None:
        raise SystemExit("rope_scaling is not transcribed")
    # Bias rules per class: Qwen2 q/k/v always, o never; Llama attention_bias on all four; Mistral
    # and Phi3 none; Gemma attention_bias on q/k/v/o.
    qkv_bias = mt == "qwen2" or (mt in ("llama", "gemma") and cfg.get("attention_bias", False))
    o_bias = mt in ("llama", "gemma") and cfg.get("attention_bias", False)
    mlp_bias = mt == "llama" and cfg.get("mlp_bias", False)
    if mt == "gemma":  # GemmaMLP: hidden_activation, gelu_pytorch_tanh when unset
        act = act_fn(cfg.get("hidden_activation") or "gelu_pytorch_tanh")
        norm = gemma_rms_norm
    else:
        act = act_fn(cfg.get("hidden_act", "silu"))
        norm = rms_norm
    rotary_dim = int(head_dim * cfg.get("partial_rotary_factor", 1.0)) if mt == "phi3" else head_dim
    tied = cfg.get("tie_word_embeddings", mt == "gemma")
    B, T = input_ids.shape

    h = W["model.embed_tokens.weight"][input_ids]  # [B, T, C]
    if mt == "gemma":
        h = h * torch.tensor(hidden**0.5, dtype=h.dtype)
    cos, sin = rope_cos_sin(position_ids, rotary_dim, theta)
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)  # [B, 1, T, rotary_dim]
    mask = causal_4d_mask(attention_mask, B, T, h.dtype)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        g = lambda n, use=True: W.get(p + n) if use else None
        residual = h
        x = norm(h, W[p + "input_layernorm.weight"], eps)
        if mt == "phi3":
            qkv = linear(x, W[p + "self_attn.qkv_proj.weight"])
            qp = n_heads * head_dim
            kp = n_kv * head_dim
            q, k, v = qkv[..., :qp], qkv[..., qp : qp + kp], qkv[..., qp + kp :]
        else:
            q = linear(x, W[p + "self_attn.q_proj.weight"], g("self_attn.q_proj.bias", qkv_bias))
            k = linear(x, W[p + "self_attn.k_proj.weight"], g("self_attn.k_proj.bias", qkv_bias))
            v = linear(x, W[p + "self_attn.v_proj.weight"], g("self_attn.v_proj.bias", qkv_bias))
        q = q.view(B, T, n_heads, head_dim).transpose(1, 2)
        k = k.view(B, T, n_kv, head_dim).transpose(1, 2)
        v = v.view(B, T, n_kv, head_dim).transpose(1, 2)
        q, k = apply_rotary(q, k, cos, sin)
        k = repeat_kv(k, n_heads // n_kv)
        v = repeat_kv(v, n_heads // n_kv)
        attn = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(head_dim)  # [B, H, T, T]
        attn = attn + mask
        attn = F.softmax(attn, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(attn, v).transpose(1, 2).reshape(B, T, n_heads * head_dim)  # [B, T, H*D]
        h = residual + linear(out, W[p + "self_attn.o_proj.weight"], g("self_attn.o_proj.bias", o_bias))
        residual = h
        x = norm(h, W[p + "post_attention_layernorm.weight"], eps)
        if mt == "phi3":  # Phi3MLP: gate, up = gate_up_proj(x).chunk(2); down(up * act(gate))
            gate, up = linear(x, W[p + "mlp.gate_up_proj.weight"]).chunk(2, dim=-1)
        else:
            gate = linear(x, W[p + "mlp.gate_proj.weight"], g("mlp.gate_proj.bias", mlp_bias))
            up = linear(x, W[p + "mlp.up_proj.weight"], g("mlp.up_proj.bias", mlp_bias))
        h = residual + linear(act(gate) * up, W[p + "mlp.down_proj.weight"], g("mlp.down_proj.bias", mlp_bias))
    h = norm(h, W["model.norm.weight"], eps)
    if tied:
        head = W["model.embed_tokens.weight"]
    elif "lm_head.weight" in W:
        head = W["lm_head.weight"]
    else:  # transformers would initialise it randomly and warn; a reference must not guess
        raise SystemExit("untied model without lm_head.weight")
    return linear(h, head).float()

# ---------------------------------------------------------------- GPT-2

def gpt2_forward(cfg, W, input_ids, attention_mask, position_ids):
    if not all(k.startswith("transformer.") for k in W if k != "lm_head.weight"):
        W = {("transformer." + k if not k.startswith("transformer.") else k): v for k, v in W.items()}
    C = cfg["n_embd"]
    H = cfg["n_head"]
    D = C // H
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    act = act_fn(cfg.get("activation_function", "gelu_new"))
    B, T = input_ids.shape
    h = W["transformer.wte.weight"][input_ids] + W["transformer.wpe.weight"][position_ids]  # [B, T, C]
    dtype = h.dtype
    causal = torch.tril(torch.ones((T, T), dtype=torch.bool))[None, None]
    ext_mask = None
    if attention_mask is not None:  # GPT2Model: (1 - mask) * finfo.min, added to the scores
        ext_mask = (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min
    split = lambda x: x.view(B, T, H, D).permute(0, 2, 1, 3)  # [B, H, T, D]
    for i in range(cfg["n_layer"]):
        p = f"transformer.h.{i}."
        residual = h
        x = F.layer_norm(h, (C,), W[p + "ln_1.weight"], W[p + "ln_1.bias"], eps)
        q, k, v = conv1d(x, W[p + "attn.c_attn.weight"], W[p + "attn.c_attn.bias"]).split(C, dim=2)
        q, k, v = split(q), split(k), split(v)
        attn = torch.matmul(q, k.transpose(-1, -2))
        attn = attn / torch.full([], v.size(-1) ** 0.5, dtype=attn.dtype)
        attn = torch.where(causal, attn, torch.full([], torch.finfo(attn.dtype).min, dtype=attn.dtype))
        if ext_mask is not None:
            attn = attn + ext_mask
        attn = F.softmax(attn, dim=-1)
        out = torch.matmul(attn, v).permute(0, 2, 1, 3).contiguous().view(B, T, C)
        h = conv1d(out, W[p + "attn.c_proj.weight"], W[p + "attn.c_proj.bias"]) + residual
        residual = h
        x = F.layer_norm(h, (C,), W[p + "ln_2.weight"], W[p + "ln_2.bias"], eps)
        x = act(conv1d(x, W[p + "mlp.c_fc.weight"], W[p + "mlp.c_fc.bias"]))
        h = residual + conv1d(x, W[p + "mlp.c_proj.weight"], W[p + "mlp.c_proj.bias"])
    h = F.layer_norm(h, (C,), W["transformer.ln_f.weight"], W["transformer.ln_f.bias"], eps)
    # GPT2LMHeadModel ties lm_head to wte only when tie_word_embeddings is true (the default).
    head = W["transformer.wte.weight"] if cfg.get("tie_word_embeddings", True) else W["lm_head.weight"]
    return linear(h, head).float()

# ---------------------------------------------------------------- Phi

def phi_forward(cfg, W, input_ids, attention_mask, position_ids):
    """PhiForCausalLM: x + attn(ln(x)) + mlp(ln(x)) with one LayerNorm, partial rotary, qk_layernorm."""
    C = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads") or H
    D = C // H
    eps = cfg.get("layer_norm_eps", 1e-5)
    theta = cfg.get("rope_theta", 10000.0)
    if cfg.get("rope_scaling") is not None:
        raise SystemExit("rope_scaling is not transcribed")
    rotary_ndims = int(D * cfg.get("partial_rotary_factor", 0.5))
    qk_ln = cfg.get("qk_layernorm", False)
    act = act_fn(cfg.get("hidden_act", "gelu_new"))
    B, T = input_ids.shape
    h = W["model.embed_tokens.weight"][input_ids]
    # PhiRotaryEmbedding: inv_freq over the rotary dims only
    cos, sin = rope_cos_sin(position_ids, rotary_ndims, theta)
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
    mask = causal_4d_mask(attention_mask, B, T, h.dtype)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        residual = h
        x = F.layer_norm(h, (C,), W[p + "input_layernorm.weight"], W[p + "input_layernorm.bias"], eps)
        q = linear(x, W[p + "self_attn.q_proj.weight"], W[p + "self_attn.q_proj.bias"]).view(B, T, -1, D).transpose(1, 2)
        k = linear(x, W[p + "self_attn.k_proj.weight"], W[p + "self_attn.k_proj.bias"]).view(B, T, -1, D).transpose(1, 2)
        v = linear(x, W[p + "self_attn.v_proj.weight"], W[p + "self_attn.v_proj.bias"]).view(B, T, -1, D).transpose(1, 2)
        if qk_ln:
            q = F.layer_norm(q, (D,), W[p + "self_attn.q_layernorm.weight"], W[p + "self_attn.q_layernorm.bias"], eps)
            k = F.layer_norm(k, (D,), W[p + "self_attn.k_layernorm.weight"], W[p + "self_attn.k_layernorm.bias"], eps)
        q_rot, q_pass = q[..., :rotary_ndims], q[..., rotary_ndims:]
        k_rot, k_pass = k[..., :rotary_ndims], k[..., rotary_ndims:]
        q_rot = (q_rot * cos) + (rotate_half(q_rot) * sin)
        k_rot = (k_rot * cos) + (rotate_half(k_rot) * sin)
        q = torch.cat((q_rot, q_pass), dim=-1)
        k = torch.cat((k_rot, k_pass), dim=-1)
        k = repeat_kv(k, H // KV)
        v = repeat_kv(v, H // KV)
        attn = torch.matmul(q.to(torch.float32), k.to(torch.float32).transpose(2, 3)) / math.sqrt(D)
        attn = attn + mask
        attn = F.softmax(attn, dim=-1, dtype=torch.float32).to(v.dtype)
        out = torch.matmul(attn, v).transpose(1, 2).reshape(B, T, H * D)
        attn_out = linear(out, W[p + "self_attn.dense.weight"], W[p + "self_attn.dense.bias"])
        ff = linear(act(linear(x, W[p + "mlp.fc1.weight"], W[p + "mlp.fc1.bias"])), W[p + "mlp.fc2.weight"], W[p + "mlp.fc2.bias"])
        h = attn_out + ff + residual
    h = F.layer_norm(h, (C,), W["model.final_layernorm.weight"], W["model.final_layernorm.bias"], eps)
    head = W["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else W["lm_head.weight"]
    return linear(h, head, W["lm_head.bias"]).float()

# ---------------------------------------------------------------- CLI

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("--input-ids", required=True, help="JSON [[int, ...], ...]")
    ap.add_argument("--attention-mask", help="JSON [[0|1, ...], ...]; default all ones (no mask)")
    ap.add_argument("--positions", choices=["arange", "cumsum"], default="arange")
    ap.add_argument("--out", help="write the JSON here instead of stdout")
    args = ap.parse_args()

    torch.set_grad_enabled(False)
    cfg, W = load_folder(args.model_dir)
    input_ids = torch.tensor(json.loads(args.input_ids), dtype=torch.long)
    mask = torch.tensor(json.loads(args.attention_mask), dtype=torch.long) if args.attention_mask else None
    B, T = input_ids.shape
    if args.positions == "cumsum" and mask is not None:
        position_ids = mask.cumsum(-1) - 1
        position_ids = position_ids.masked_fill(mask == 0, 1)
    else:
        position_ids = torch.arange(T, dtype=torch.long)[None].expand(B, T)
    if cfg["model_type"] in ("llama", "mistral", "qwen2", "phi3", "gemma"):
        logits = llama_forward(cfg, W, input_ids, mask, position_ids)
    elif cfg["model_type"] == "phi":
        logits = phi_forward(cfg, W, input_ids, mask, position_ids)
    elif cfg["model_type"] == "gpt2":
        logits = gpt2_forward(cfg, W, input_ids, mask, position_ids)
    else:
        raise SystemExit(f"unsupported model_type {cfg['model_type']}")
    doc = {
        "model_type": cfg["model_type"],
        "torch_version": torch.__version__,
        "input_ids": input_ids.tolist(),
        "attention_mask": mask.tolist() if mask is not None else None,
        "position_ids": position_ids.tolist(),
        "logits": logits.tolist(),
    }
    text = json.dumps(doc)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
