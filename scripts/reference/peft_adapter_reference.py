#!/usr/bin/env python3
"""A PEFT-format DoRA adapter with per-module ranks and alphas, and the logits PEFT's math gives.

Independent of this project: plain PyTorch + numpy. Writes, into OUT_DIR,
  adapter_config.json + adapter_model.safetensors   exactly as PEFT 0.19 names them
      (base_model.model.<module>.lora_A.weight [r, in], .lora_B.weight [out, r],
       .lora_magnitude_vector [out]; use_dora, use_rslora, rank_pattern, alpha_pattern)
  expected.json   logits of the base model with each adapted weight replaced by PEFT's merged
      DoRA weight (variants.py DoraLinearVariant.merge_safe: m / ‖W + ΔW‖ ⊙ (W + ΔW), ‖·‖ over
      dim 1, ΔW = scaling·B·A, scaling = alpha/√r with rsLoRA; r and alpha from the patterns by
      get_pattern_key's rule), computed by hf_reference.py's forward pass.

    /usr/bin/python3 scripts/reference/peft_adapter_reference.py tests/fixtures/reference/llama-gqa-untied \\
        tests/fixtures/reference/lora-methods/dora-patterns-adapter
"""
import json
import math
import os
import re
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_reference import llama_forward, load_folder  # noqa: E402

INPUT_IDS = [[5, 17, 99, 3, 250, 42], [7, 7, 1, 0, 64, 200]]
R, ALPHA = 2, 4
TARGETS = ["q_proj", "v_proj", "down_proj"]
RANK_PATTERN = {"down_proj": 3, "model.layers.1.self_attn.q_proj": 4}
ALPHA_PATTERN = {"v_proj": 6}


def get_pattern_key(keys, name):  # peft.utils.other.get_pattern_key
    for key in keys:
        if re.match(rf"(.*\.)?({key})$", name):
            return key
    return name


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        data = tensors[name].detach().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    model_dir, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    torch.set_grad_enabled(False)
    cfg, W = load_folder(model_dir)
    rng = np.random.default_rng(7)
    tensors, merged = {}, dict(W)
    for name in sorted(k[: -len(".weight")] for k in W if k.endswith(".weight")):
        if not any(name.endswith("." + t) for t in TARGETS):
            continue
        w = W[name + ".weight"].double()
        out_f, in_f = w.shape
        r = RANK_PATTERN.get(get_pattern_key(RANK_PATTERN.keys(), name), R)
        alpha = ALPHA_PATTERN.get(get_pattern_key(ALPHA_PATTERN.keys(), name), ALPHA)
        scaling = alpha / math.sqrt(r)  # use_rslora
        A = torch.tensor(rng.normal(size=(r, in_f)) * 0.3, dtype=torch.float32)
        B = torch.tensor(rng.normal(size=(out_f, r)) * 0.3, dtype=torch.float32)
        delta = scaling * (B.double() @ A.double())
        m = (torch.linalg.norm(w + delta, dim=1) * torch.tensor(1 + 0.2 * rng.normal(size=out_f))).float()
        tensors[f"base_model.model.{name}.lora_A.weight"] = A
        tensors[f"base_model.model.{name}.lora_B.weight"] = B
        tensors[f"base_model.model.{name}.lora_magnitude_vector"] = m
        weight_norm = torch.linalg.norm(w + delta, dim=1)
        merged[name + ".weight"] = ((m.double() / weight_norm).view(-1, 1) * (w + delta)).float()
    write_safetensors(os.path.join(out_dir, "adapter_model.safetensors"), tensors)
    config = {
        "alora_invocation_tokens": None, "alpha_pattern": ALPHA_PATTERN, "arrow_config": None, "auto_mapping": None,
        "base_model_name_or_path": "llama-gqa-untied", "bias": "none", "corda_config": None, "ensure_weight_tying": False,
        "eva_config": None, "exclude_modules": None, "fan_in_fan_out": False, "inference_mode": True, "init_lora_weights": True,
        "layer_replication": None, "layers_pattern": None, "layers_to_transform": None, "loftq_config": {}, "lora_alpha": ALPHA,
        "lora_bias": False, "lora_dropout": 0.05, "lora_ga_config": None, "megatron_config": None, "megatron_core": "megatron.core",
        "modules_to_save": None, "peft_type": "LORA", "peft_version": "0.19.1", "qalora_group_size": 16, "r": R,
        "rank_pattern": RANK_PATTERN, "revision": None, "target_modules": TARGETS, "target_parameters": None, "task_type": "CAUSAL_LM",
        "trainable_token_indices": None, "use_bdlora": None, "use_dora": True, "use_qalora": False, "use_rslora": True,
    }
    with open(os.path.join(out_dir, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2)
    ids = torch.tensor(INPUT_IDS, dtype=torch.long)
    pos = torch.arange(ids.shape[1], dtype=torch.long)[None].expand(*ids.shape)
    logits = llama_forward(cfg, {k: v.float() for k, v in merged.items()}, ids, None, pos)
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump({"source": "scripts/reference/peft_adapter_reference.py", "torch_version": torch.__version__, "input_ids": INPUT_IDS, "logits": logits.tolist()}, f)


if __name__ == "__main__":
    main()
