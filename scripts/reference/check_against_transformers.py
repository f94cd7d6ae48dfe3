#!/usr/bin/env python3
"""Optional cross-check of the reference fixtures against Hugging Face transformers itself.

Where transformers is installed (it is not needed by the project or its tests):

    python3 scripts/reference/check_against_transformers.py tests/fixtures/reference/*/

loads each fixture folder with AutoModelForCausalLM (eager attention, float32), runs the cases
of its expected.json and prints the largest absolute logit difference on non-padding rows.
Exits non-zero when any exceeds --tol, i.e. when hf_reference.py drifted from transformers.
"""
import argparse
import json
import os
import sys

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folders", nargs="+")
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_args()
    import transformers
    from transformers import AutoModelForCausalLM

    print(f"transformers {transformers.__version__}, torch {torch.__version__}")
    worst = 0.0
    for folder in args.folders:
        with open(os.path.join(folder, "expected.json")) as f:
            expected = json.load(f)
        model = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32, attn_implementation="eager")
        model.eval()
        for case in expected["cases"]:
            ids = torch.tensor(case["input_ids"])
            mask = torch.tensor(case["attention_mask"]) if case["attention_mask"] is not None else None
            pos = torch.tensor(case["position_ids"])
            with torch.no_grad():
                logits = model(input_ids=ids, attention_mask=mask, position_ids=pos).logits.float()
            diff = 0.0
            for b, row in enumerate(case["logits"]):
                for t, want in enumerate(row):
                    if want is not None:
                        diff = max(diff, (logits[b, t] - torch.tensor(want)).abs().max().item())
            worst = max(worst, diff)
            print(f"{expected['fixture']:>20} {case['name']:>10}: max |Δlogit| = {diff:.3g}")
    sys.exit(0 if worst <= args.tol else 1)


if __name__ == "__main__":
    main()
