import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Lease } from '../run-queue.js';

/**
 * Keeps job leases alive from one background thread with its own connection. Training and
 * evaluation run synchronous tfjs kernels that can hold the main event loop for many seconds (a
 * loaded CPU, a long GPU op); a heartbeat timer on the main thread would then miss its beat and
 * the queue would hand a live run to another worker. The thread beats regardless, and stops
 * beating only when the process dies — which is exactly what a lease should detect. One thread
 * per worker process serves every run it claims (starting a thread per run costs more than the
 * rest of the queue's work). Whether the current lease was lost is a shared flag, readable from
 * synchronous code between training steps.
 */
export class LeaseKeeper {
  private readonly worker: Worker;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));

  constructor(p: { url: string; sql: string; queue: string; leaseSeconds: number; onError?: (message: string) => void }) {
    this.worker = new Worker(THREAD, {
      eval: true,
      workerData: {
        pgPath: createRequire(import.meta.url).resolve('pg'), url: p.url, sql: p.sql, queue: p.queue,
        leaseSeconds: p.leaseSeconds, intervalMs: Math.max(250, (p.leaseSeconds * 1000) / 4), flag: this.flag.buffer,
      },
    });
    this.worker.on('message', (m: { error?: string }) => m.error && p.onError?.(m.error));
    this.worker.on('error', (err) => p.onError?.(err.message));
    this.worker.unref();
  }

  /** Heartbeats `jobId` until the returned lease is stopped (one job at a time). */
  keep(jobId: string): Lease {
    Atomics.store(this.flag, 0, 0);
    this.worker.postMessage({ start: jobId });
    let stopped = false;
    return {
      lost: () => !stopped && Atomics.load(this.flag, 0) === 1,
      stop: async () => {
        stopped = true;
        this.worker.postMessage({ stop: jobId });
      },
    };
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

// CommonJS, evaluated in the thread; `pg` is required by absolute path so it resolves the same
// under tsx and from the compiled build. The job's fresh claim carries a full lease, so the first
// beat waits one interval.
const THREAD = `
const { workerData: d, parentPort } = require('node:worker_threads');
const pg = require(d.pgPath);
const flag = new Int32Array(d.flag);
const client = new pg.Client({ connectionString: d.url, application_name: 'lora-study-lease' });
let current = null;
let ready = client.connect().catch((err) => parentPort.postMessage({ error: err.message }));
async function beat() {
  const id = current;
  if (!id) return;
  try {
    await ready;
    const r = await client.query(d.sql, [d.queue, id, d.leaseSeconds]);
    if (r.rowCount !== 1 && current === id) {
      Atomics.store(flag, 0, 1);
      current = null;
    }
  } catch (err) {
    parentPort.postMessage({ error: err.message });
  }
}
parentPort.on('message', (m) => {
  if (m.start) current = m.start;
  else if (m.stop && current === m.stop) current = null;
});
setInterval(beat, d.intervalMs);
`;
