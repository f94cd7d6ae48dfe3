import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Lease } from '../run-queue.js';

/**
 * Keeps a job's lease alive from a separate thread with its own connection. Training and
 * evaluation run synchronous tfjs kernels that can hold the main event loop for many seconds (a
 * loaded CPU, a long GPU op); a heartbeat timer on the main thread would then miss its beat and
 * the queue would hand a live run to another worker. The thread beats regardless, and stops
 * beating only when the process dies — which is exactly what the lease should detect.
 * Whether the lease was lost is a shared flag, readable from synchronous code between steps.
 */

// CommonJS, evaluated in the thread; `pg` is required by absolute path so it resolves the same
// under tsx and from the compiled build.
const THREAD = `
const { workerData: d, parentPort } = require('node:worker_threads');
const pg = require(d.pgPath);
const flag = new Int32Array(d.flag);
const client = new pg.Client({ connectionString: d.url, application_name: 'lora-study-lease' });
let timer = null;
let stopping = false;
async function beat() {
  try {
    const r = await client.query(d.sql, [d.queue, d.jobId, d.leaseSeconds]);
    if (r.rowCount !== 1) {
      Atomics.store(flag, 0, 1);
      clearInterval(timer);
    }
  } catch (err) {
    if (!stopping) parentPort.postMessage({ error: err.message });
  }
}
parentPort.on('message', async (m) => {
  if (m !== 'stop') return;
  stopping = true;
  clearInterval(timer);
  await client.end().catch(() => {});
  parentPort.postMessage({ stopped: true });
});
client.connect().then(() => { if (stopping) return; timer = setInterval(beat, d.intervalMs); beat(); },
  (err) => parentPort.postMessage({ error: err.message }));
`;

export function keepLease(p: { url: string; sql: string; queue: string; jobId: string; leaseSeconds: number; onError?: (message: string) => void }): Lease {
  const flag = new SharedArrayBuffer(4);
  const view = new Int32Array(flag);
  const worker = new Worker(THREAD, {
    eval: true,
    workerData: {
      pgPath: createRequire(import.meta.url).resolve('pg'), url: p.url, sql: p.sql, queue: p.queue, jobId: p.jobId,
      leaseSeconds: p.leaseSeconds, intervalMs: Math.max(250, (p.leaseSeconds * 1000) / 4), flag,
    },
  });
  worker.on('message', (m: { error?: string }) => m.error && p.onError?.(m.error));
  worker.on('error', (err) => p.onError?.(err.message));
  worker.unref();
  return {
    lost: () => Atomics.load(view, 0) === 1,
    stop: () =>
      new Promise<void>((done) => {
        const timeout = setTimeout(() => void worker.terminate().then(() => done()), 2000);
        worker.once('message', () => {
          clearTimeout(timeout);
          void worker.terminate().then(() => done());
        });
        worker.once('exit', () => {
          clearTimeout(timeout);
          done();
        });
        worker.postMessage('stop');
      }),
  };
}
