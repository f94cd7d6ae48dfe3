/**
 * The queue of runs many workers drain (Postgres only: pg-boss on the tracking database). A job
 * carries what a worker needs to execute one run; its singleton key is the run's identity.
 */

/** One queued run: the study type, names, the resolved config and its identity. */
export interface RunJobData {
  suiteId: number;
  suite: string;
  /** The study `type:` (src/studies). */
  type: string;
  name: string;
  /** The study's label of the setting (`r=8`). */
  label: string;
  /** The fully resolved run config (RunConfig), as JSON. */
  config: unknown;
  /** config_hash of the run (see experiments/run-identity.ts); the job's singleton key. */
  identity: string;
}

export interface ClaimedJob {
  id: string;
  data: RunJobData;
  /** 0 on the first attempt; 1 when the queue retries it after its worker stopped. */
  retryCount: number;
}

export interface QueueOptions {
  /** A job whose worker sent no heartbeat for this long is given to another worker. */
  leaseSeconds: number;
  /** How many times an expired job is retried before it fails for good. */
  retryLimit: number;
}

export const DEFAULT_QUEUE_OPTIONS: QueueOptions = { leaseSeconds: 600, retryLimit: 1 };

export type EnqueueResult = { enqueued: true; jobId: string } | { enqueued: false; reason: string };

/** A job's lease, kept alive in the background while its run executes. */
export interface Lease {
  /** True once a heartbeat found the job no longer ours (expired and given to another worker). */
  lost(): boolean;
  stop(): Promise<void>;
}

export interface RunQueue {
  readonly options: QueueOptions;
  /**
   * Enqueues a run unless its identity is already queued, running, or completed (one
   * transaction under the identity's advisory lock: enqueueing twice adds nothing).
   */
  enqueue(data: RunJobData): Promise<EnqueueResult>;
  /** Claims the next job (SKIP LOCKED: each job goes to exactly one worker), or null. */
  claim(): Promise<ClaimedJob | null>;
  /** Extends the job's lease once; false when the lease was lost (expired and given to another worker). */
  heartbeat(jobId: string): Promise<boolean>;
  /** Heartbeats the job from a background thread until stopped (see postgres/lease-keeper.ts). */
  keepLease(jobId: string): Lease;
  complete(jobId: string, output: Record<string, unknown>): Promise<void>;
  /** Gives a job back (Ctrl-C): completes this attempt and enqueues the run afresh, atomically. */
  requeue(job: ClaimedJob): Promise<void>;
  /** Jobs not yet finished (queued, waiting for retry, or running), of one suite or all. */
  pending(suiteId?: number): Promise<number>;
  /**
   * When a suite has no unfinished job left, records its status from its runs (failed if any run
   * failed, else completed) and marks runs a dead worker left `running` interrupted.
   */
  settleSuite(suiteId: number): Promise<void>;
  /** Removes a suite row that recorded nothing (an enqueue that found every run done or queued). */
  dropEmptySuite(suiteId: number): Promise<void>;
  close(): Promise<void>;
}
