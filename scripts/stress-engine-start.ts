// Starts the engine many times in parallel streams and counts the starts that failed, hung, or
// fell back to fewer threads than asked (issue 10 item 12: exit 13 on a busy machine).
//   npx tsx scripts/stress-engine-start.ts [--starts 200] [--streams 2] [--backend wasm] [--threads 2] [--timeout-s 120] [--json]
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SCRATCH_PREFIX } from '../src/engine/wasm-node-threads.js';

const { values } = parseArgs({
  options: {
    starts: { type: 'string', default: '200' },
    streams: { type: 'string', default: '2' },
    backend: { type: 'string', default: 'wasm' },
    threads: { type: 'string', default: '2' },
    'timeout-s': { type: 'string', default: '120' },
    json: { type: 'boolean', default: false },
  },
});
const starts = Number(values.starts);
const streams = Number(values.streams);
const timeoutMs = Number(values['timeout-s']) * 1000;
for (const [flag, v] of [['--starts', starts], ['--streams', streams], ['--timeout-s', timeoutMs]] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${flag} must be a positive integer`);
}

const child = fileURLToPath(new URL('./engine-start-once.ts', import.meta.url));
const tsx = path.join(path.dirname(child), '..', 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs');

interface Outcome {
  ok: boolean;
  kind: string;
  ms: number;
  pid: number | undefined;
  detail?: string;
}

function startOnce(): Promise<Outcome> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const p = spawn(
      process.execPath,
      ['--import', existsSync(tsx) ? tsx : 'tsx', child, '--backend', values.backend!, '--threads', values.threads!],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill('SIGKILL');
    }, timeoutMs);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - t0;
      const last = (err.trim().split('\n').pop() ?? '').slice(0, 200);
      if (timedOut) return resolve({ ok: false, kind: 'hung', ms, pid: p.pid, detail: last });
      if (code !== 0) return resolve({ ok: false, kind: `exit ${code ?? signal}`, ms, pid: p.pid, detail: last });
      let got: { threads?: number } = {};
      try {
        got = JSON.parse(out) as { threads?: number };
      } catch {
        return resolve({ ok: false, kind: 'no result printed', ms, pid: p.pid, detail: out.slice(0, 200) });
      }
      if (values.backend === 'wasm' && got.threads !== Number(values.threads)) {
        return resolve({ ok: false, kind: `started with ${got.threads} threads`, ms, pid: p.pid, detail: last });
      }
      resolve({ ok: true, kind: 'ok', ms, pid: p.pid });
    });
  });
}

const outcomes: Outcome[] = [];
let next = 0;
async function stream(): Promise<void> {
  while (next < starts) {
    next++;
    const o = await startOnce();
    outcomes.push(o);
    if (!o.ok) process.stderr.write(`start ${outcomes.length}: ${o.kind} ${o.detail ?? ''}\n`);
    if (outcomes.length % 20 === 0) process.stderr.write(`${outcomes.length}/${starts} done\n`);
  }
}
const t0 = performance.now();
await Promise.all(Array.from({ length: streams }, () => stream()));
const wallS = (performance.now() - t0) / 1000;

const childPids = new Set(outcomes.map((o) => o.pid));
const leftovers = readdirSync(os.tmpdir()).filter((n) => {
  const m = /^lora-study-wasm-(\d+)-/.exec(n);
  return n.startsWith(SCRATCH_PREFIX) && m !== null && childPids.has(Number(m[1]));
});
const failures: Record<string, number> = {};
for (const o of outcomes) if (!o.ok) failures[o.kind] = (failures[o.kind] ?? 0) + 1;
const sorted = outcomes.map((o) => o.ms).sort((a, b) => a - b);
const summary = {
  starts,
  streams,
  backend: values.backend,
  threads: Number(values.threads),
  failed: outcomes.filter((o) => !o.ok).length,
  failures,
  temp_folders_left: leftovers.length,
  start_ms_median: Math.round(sorted[Math.floor(sorted.length / 2)]),
  start_ms_max: Math.round(sorted[sorted.length - 1]),
  wall_s: Math.round(wallS),
  load_avg_1m: os.loadavg()[0],
};
if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
else {
  process.stdout.write(
    `${summary.starts} starts in ${summary.streams} streams (${summary.backend}, ${summary.threads} threads): ` +
      `${summary.failed} failed ${JSON.stringify(summary.failures)}, ${summary.temp_folders_left} temp folders left, ` +
      `start median ${summary.start_ms_median} ms, max ${summary.start_ms_max} ms, wall ${summary.wall_s} s, load ${summary.load_avg_1m.toFixed(2)}\n`,
  );
}
process.exitCode = summary.failed === 0 && summary.temp_folders_left === 0 ? 0 : 1;
