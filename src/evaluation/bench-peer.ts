/**
 * The PyTorch CPU peer of `lora-study bench` (issue 12): scripts/bench-torch-peer.py trains the
 * same shape with the same step in plain torch, in its own process, after bench's own rows (so the
 * two never share the cores), with the same thread count. Absent torch is a reason, not an error.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { runProcess } from '../util/run-process.js';
import { isReferenceBlas } from './blas-peak.js';
import { benchShapesDocument, type BenchShape } from './bench-shapes.js';

export const PEER_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'bench-torch-peer.py');

/** Debian's python with its torch and numpy first: pyenv/venv shims on PATH usually have neither. */
export const PEER_PYTHON_CANDIDATES = ['/usr/bin/python3', 'python3'] as const;

const peerOutputSchema = z.object({
  shape: z.string(),
  modelType: z.string(),
  torch: z.string(),
  threads: z.number().int(),
  blas: z.object({ torchBlasInfo: z.string(), libraries: z.array(z.string()) }),
  params: z.number().int(),
  trainableParams: z.number().int(),
  batchSize: z.number().int(),
  seqLen: z.number().int(),
  steps: z.number().int(),
  timedSteps: z.number().int(),
  msPerStep: z.number(),
  trainTokensPerS: z.number(),
  stepMs: z.array(z.number()),
  lastLoss: z.number(),
  peakRssBytes: z.number(),
});

export type PeerShapeResult = z.infer<typeof peerOutputSchema> & {
  /** The BLAS torch multiplied with is Debian's netlib reference one: the ratio then says nothing about a real peer. */
  referenceBlas: boolean;
  /** OMP_WAIT_POLICY the peer ran under ({@link peerOmpWaitPolicy}). */
  ompWaitPolicy: string;
};

/**
 * The OpenMP wait policy the peer runs under: the caller's OMP_WAIT_POLICY, else PASSIVE. With
 * the default (active: idle OpenMP threads spin), torch's OpenMP threads and OpenBLAS's own
 * pthreads fight over the cores: on the 2-vCPU development VM the GPT-2 step took 1,336–1,411
 * ms/step against 577–582 passive, and the tiny llama's 17.5–20.6 against 5.6–5.7. The peer is
 * meant to be PyTorch at its best, so bench runs it passive.
 */
export function peerOmpWaitPolicy(env: NodeJS.ProcessEnv = process.env): string {
  return env.OMP_WAIT_POLICY || 'PASSIVE';
}

export type PeerOutcome = ({ ok: true } & PeerShapeResult) | { ok: false; shape: string; reason: string };

/** `auto`: the first candidate that imports torch; otherwise the interpreter given, as is (the script says if torch is missing). */
export async function resolvePeerPython(request: string, opts: { timeoutMs?: number } = {}): Promise<{ python: string } | { reason: string }> {
  if (request !== 'auto') return { python: request };
  const tried: string[] = [];
  for (const python of PEER_PYTHON_CANDIDATES) {
    const r = await runProcess(python, ['-c', 'import torch'], { timeoutMs: opts.timeoutMs ?? 60_000 });
    if (!r.error && r.status === 0) return { python };
    tried.push(`${python}: ${r.error ? r.error.message : (r.stderr.trim().split('\n').at(-1) ?? `exit ${r.status}`)}`);
  }
  return { reason: `no python with torch (${tried.join('; ')}); on Debian: apt-get install python3-torch python3-numpy libopenblas0-pthread` };
}

/** One shape's peer run: `python bench-torch-peer.py --shapes - --shape NAME`, bench's shape document on stdin. */
export async function runTorchPeer(opts: { python: string; shape: BenchShape; threads: number; steps?: number; timeoutMs?: number; script?: string }): Promise<PeerOutcome> {
  const { python, shape } = opts;
  const t = String(opts.threads);
  const ompWaitPolicy = peerOmpWaitPolicy();
  const args = [opts.script ?? PEER_SCRIPT, '--shapes', '-', '--shape', shape.name, '--threads', t, ...(opts.steps ? ['--steps', String(opts.steps)] : [])];
  const r = await runProcess(python, args, {
    input: JSON.stringify(benchShapesDocument([shape])),
    timeoutMs: opts.timeoutMs ?? 900_000,
    env: { ...process.env, OMP_NUM_THREADS: t, OPENBLAS_NUM_THREADS: t, MKL_NUM_THREADS: t, OMP_WAIT_POLICY: ompWaitPolicy },
  });
  const fail = (reason: string): PeerOutcome => ({ ok: false, shape: shape.name, reason });
  if (r.error) return fail(`${python}: ${r.error.message}`);
  if (r.status !== 0) return fail(`${python} ${args[0]} exited ${r.status ?? r.signal}: ${(r.stderr.trim().split('\n').at(-1) ?? '').slice(0, 300)}`);
  let doc: unknown;
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    return fail(`${python} ${args[0]} printed no JSON (${r.stdout.slice(0, 200)})`);
  }
  const skipped = z.object({ skipped: z.string() }).safeParse(doc);
  if (skipped.success) return fail(skipped.data.skipped);
  const parsed = peerOutputSchema.safeParse(doc);
  if (!parsed.success) return fail(`${args[0]} printed an unexpected document: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  return { ok: true, ...parsed.data, referenceBlas: parsed.data.blas.libraries.some(isReferenceBlas), ompWaitPolicy };
}
