"""PyTorch reference for scripts/bench-gpu.ts on the same GPU: fp32 matmul GFLOP/s at 1024^3 and
4096^3 (TF32 off, so it is the fp32 rate the WebGPU figure is compared with). Prints one JSON
document; prints {"skipped": reason} when torch or CUDA is missing.
  python3 scripts/bench-torch.py
"""
import json
import sys
import time

try:
    import torch
except Exception as e:  # torch absent: say so, do not fail the GPU check
    print(json.dumps({"skipped": f"torch not importable: {e}"}))
    sys.exit(0)
if not torch.cuda.is_available():
    print(json.dumps({"skipped": f"torch {torch.__version__} sees no CUDA device"}))
    sys.exit(0)

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
out = {"torch": torch.__version__, "device": torch.cuda.get_device_name(0), "matmul": []}
for n in (1024, 4096):
    a = torch.rand(n, n, device="cuda", dtype=torch.float32) * 2 - 1
    b = torch.rand(n, n, device="cuda", dtype=torch.float32) * 2 - 1
    for _ in range(3):
        (a @ b).sum().item()
    times = []
    for _ in range(10):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        c = a @ b
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    med = sorted(times)[len(times) // 2]
    out["matmul"].append({"n": n, "median_ms": med * 1e3, "gflops": 2 * n**3 / med / 1e9})
print(json.dumps(out, indent=2))
