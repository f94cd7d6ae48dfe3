/**
 * The machine's BLAS matmul rate, the yardstick issue 12 measures the training step against:
 * numpy's float32 1024³ product under /usr/bin/python3 (or $LORA_STUDY_PYTHON), with the BLAS
 * library numpy actually loaded (read from /proc/self/maps). Absent numpy is a reason, not an error.
 */
import { spawnSync } from 'node:child_process';

export type BlasPeak =
  | {
      ok: true; gflops: number; n: number; threads: string;
      /** The BLAS libraries numpy's process mapped (resolved links): what really ran. */
      library: string;
      /** What numpy's build configuration names (np.show_config): `blas` is whatever libblas.so.3 points to. */
      numpyConfig: string;
      reference: boolean;
    }
  | { ok: false; reason: string };

/** Debian's netlib reference BLAS (the default libblas.so.3 alternative): unoptimised, not a machine peak. */
export const isReferenceBlas = (library: string): boolean => /\/blas\/libblas\.so/.test(library);

export const BLAS_PYTHON_ENV = 'LORA_STUDY_PYTHON';

const SCRIPT = `
import json, os, time
import numpy as np
n = 1024
a = np.random.rand(n, n).astype(np.float32); b = np.random.rand(n, n).astype(np.float32)
a @ b
ts = []
for _ in range(5):
    t = time.perf_counter(); a @ b; ts.append(time.perf_counter() - t)
try:  # numpy >= 1.25 (meson builds)
    cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    config = f"{cfg.get('name', '?')} {cfg.get('version', '')}".strip()
except Exception:  # numpy < 1.25 (distutils builds)
    try:
        info = np.__config__.get_info("blas_opt_info")
        config = "libraries " + ",".join(dict.fromkeys(info.get("libraries", []))) if info else "none"
    except Exception:
        config = "unknown"
libs = sorted({l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l.lower() or 'mkl' in l.lower()})
print(json.dumps({"gflops": 2 * n**3 / sorted(ts)[len(ts) // 2] / 1e9, "n": n, "library": ", ".join(os.path.realpath(l) for l in libs) or "unknown", "numpy": np.__version__ + " " + config}))
`;

/** Runs with the threads given (OPENBLAS/OMP/MKL_NUM_THREADS), like the peer it is compared with. */
export function measureBlasPeak(opts: { threads: number; python?: string; timeoutMs?: number }): BlasPeak {
  const python = opts.python ?? process.env[BLAS_PYTHON_ENV] ?? '/usr/bin/python3';
  const t = String(opts.threads);
  const r = spawnSync(python, ['-c', SCRIPT], {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    env: { ...process.env, OPENBLAS_NUM_THREADS: t, OMP_NUM_THREADS: t, MKL_NUM_THREADS: t },
  });
  if (r.error) return { ok: false, reason: `${python}: ${r.error.message}` };
  if (r.status !== 0) return { ok: false, reason: `${python} has no working numpy (${(r.stderr.trim().split('\n').at(-1) ?? '').slice(0, 200)})` };
  try {
    const doc = JSON.parse(r.stdout) as { gflops: number; n: number; library: string; numpy: string };
    return { ok: true, gflops: doc.gflops, n: doc.n, threads: t, library: doc.library, numpyConfig: doc.numpy, reference: isReferenceBlas(doc.library) };
  } catch {
    return { ok: false, reason: `${python} printed no result` };
  }
}
