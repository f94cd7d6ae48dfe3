#!/usr/bin/env python3
"""Independent reference for lora-study's LoRA methods (DoRA, PiSSA, OLoRA, PiSSA→LoRA conversion).

Plain PyTorch + numpy, none of this project's code: each formula is transcribed from PEFT's
src/peft/tuners/lora (dora.py DoraLinearLayer.get_weight_norm/forward, variants.py
DoraLinearVariant.merge_safe, layer.py pissa_init/olora_init, model.py subtract_mutated_init) and
run in float64 on seeded random matrices. Writes one JSON document that
tests/lora/methods-reference.test.ts compares against.

    /usr/bin/python3 scripts/reference/peft_methods_reference.py > tests/fixtures/reference/lora-methods/expected.json
"""
import json

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(20240214)


def t(a):
    return torch.tensor(np.asarray(a), dtype=torch.float64)


def lst(x):
    return x.detach().numpy().astype(float).reshape(-1).tolist()


def case_dora(out_f, in_f, r, scale, n):
    W = t(rng.normal(size=(out_f, in_f)) * 0.3)
    bias = t(rng.normal(size=(out_f,)) * 0.1)
    A = t(rng.normal(size=(r, in_f)) * 0.2).requires_grad_(True)
    B = t(rng.normal(size=(out_f, r)) * 0.2).requires_grad_(True)
    x = t(rng.normal(size=(n, in_f)))
    R = t(rng.normal(size=(n, out_f)))
    # DoraLinearLayer.update_layer: magnitude = ‖W + s·B·A‖ (dim=1), then perturbed as if trained.
    m0 = torch.linalg.norm(W + scale * (B @ A), dim=1).detach()
    m = (m0 * t(1 + 0.1 * rng.normal(size=(out_f,)))).requires_grad_(True)
    # LoraLayer forward: result = base_layer(x); DoRA adds (mag_norm_scale - 1)·base_result + mag_norm_scale·lora_B(lora_A(x))·s,
    # with base_result = result - bias and the weight norm detached.
    result = F.linear(x, W, bias)
    lora_weight = B @ A
    weight_norm = torch.linalg.norm(W + scale * lora_weight.detach(), dim=1).detach()
    mag_norm_scale = (m / weight_norm).view(1, -1)
    lora_result = (x @ A.T) @ B.T
    base_result = result - bias
    y = result + (mag_norm_scale - 1) * base_result + mag_norm_scale * lora_result * scale
    loss = (y * R).sum()
    gA, gB, gm = torch.autograd.grad(loss, [A, B, m])
    # merge_safe: dora_factor = m / ‖W + ΔW‖, W' = dora_factor·(W + ΔW)
    delta = scale * (B @ A)
    wn = torch.linalg.norm(W + delta, dim=1)
    merged = (m / wn).view(-1, 1) * (W + delta)
    return dict(out=out_f, inF=in_f, r=r, scale=scale, n=n, W=lst(W), bias=lst(bias), A=lst(A), B=lst(B), m=lst(m), x=lst(x), R=lst(R),
                magnitude_init=lst(m0), y=lst(y), gradA=lst(gA), gradB=lst(gB), gradM=lst(gm), merged=lst(merged))


def case_pissa(out_f, in_f, r, scale):
    W = t(rng.normal(size=(out_f, in_f)))
    # layer.py pissa_init, init_lora_weights == "pissa"
    V, S, Uh = torch.linalg.svd(W, full_matrices=False)
    Vr, Sr, Uhr = V[:, :r], S[:r] / scale, Uh[:r]
    lora_A = torch.diag(torch.sqrt(Sr)) @ Uhr
    lora_B = Vr @ torch.diag(torch.sqrt(Sr))
    residual = W - scale * lora_B @ lora_A
    return dict(out=out_f, inF=in_f, r=r, scale=scale, W=lst(W), A=lst(lora_A), B=lst(lora_B), residual=lst(residual), S=lst(S))


def case_olora(out_f, in_f, r, scale):
    W = t(rng.normal(size=(out_f, in_f)))
    # layer.py olora_init
    Q, R = torch.linalg.qr(W)
    Qr, Rr = Q[:, :r], R[:r]
    residual = W - scale * Qr @ Rr
    return dict(out=out_f, inF=in_f, r=r, scale=scale, W=lst(W), A=lst(Rr), B=lst(Qr), residual=lst(residual))


def case_conversion(out_f, in_f, r):
    A = t(rng.normal(size=(r, in_f)))
    B = t(rng.normal(size=(out_f, r)))
    A0 = t(rng.normal(size=(r, in_f)))
    B0 = t(rng.normal(size=(out_f, r)))
    # model.py subtract_mutated_init: cat([A, A0], dim=0), cat([B, -B0], dim=1)
    return dict(out=out_f, inF=in_f, r=r, A=lst(A), B=lst(B), A0=lst(A0), B0=lst(B0),
                convA=lst(torch.cat([A, A0], dim=0)), convB=lst(torch.cat([B, -B0], dim=1)))


doc = {
    "source": "scripts/reference/peft_methods_reference.py (torch %s, formulas from PEFT src/peft/tuners/lora)" % torch.__version__,
    "dora": [case_dora(6, 10, 3, 2.0, 5), case_dora(12, 7, 2, 0.5, 4)],
    "pissa": [case_pissa(12, 20, 4, 2.0), case_pissa(20, 12, 3, 0.7)],
    "olora": [case_olora(12, 20, 4, 2.0), case_olora(20, 12, 3, 0.7)],
    "conversion": [case_conversion(5, 7, 2)],
}
print(json.dumps(doc))
