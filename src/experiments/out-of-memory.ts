/**
 * A batch too large for memory surfaces as a raw engine error: `RangeError: Array buffer
 * allocation failed` / `Invalid typed array length` / `Invalid array length` (JS heap, cpu
 * backend), `RuntimeError: memory access out of bounds` / `Aborted(OOM)` (the wasm backend's
 * 4 GiB heap), or the native backends' out-of-memory messages. This turns those into an error that
 * names the batch shape and what to lower.
 */
import { LoraStudyError } from '../util/errors.js';

const RANGE_PATTERNS = /array buffer allocation failed|invalid (typed )?array length|invalid array buffer length|array buffer length exceeds/i;
const ENGINE_PATTERNS = /memory access out of bounds|cannot enlarge memory|\bOOM\b|out of memory|failed to allocate|resource exhausted|OOM when allocating/i;

/** Whether `err` is an engine's way of saying a tensor or batch did not fit in memory. */
export function isOutOfMemory(err: unknown): boolean {
  if (!(err instanceof Error) || err instanceof LoraStudyError) return false;
  if (err instanceof RangeError) return RANGE_PATTERNS.test(err.message);
  return ENGINE_PATTERNS.test(err.message);
}

export class BatchTooLargeError extends LoraStudyError {}

export interface BatchShape {
  /** 'training' or 'evaluation': the phase the batch was for. */
  phase: 'training' | 'evaluation';
  backend: string;
  batchSize: number;
  maxSeqLen: number;
  gradientAccumulationSteps?: number;
}

/** `err` as a BatchTooLargeError naming the batch and what to lower when it is out-of-memory; otherwise `err` unchanged. */
export function describeOutOfMemory(err: unknown, s: BatchShape): unknown {
  if (!isOutOfMemory(err)) return err;
  const e = err as Error;
  const engine = `${e.name}: ${e.message.split('\n')[0]}`;
  // A trap in the wasm module leaves its heap unusable: nothing after it in this process works.
  const restart = e instanceof WebAssembly.RuntimeError ? '; the wasm heap is unusable after this: start a new process' : '';
  if (s.phase === 'training') {
    const accum = s.gradientAccumulationSteps ?? 1;
    return new BatchTooLargeError(
      `training ran out of memory on a micro-batch of training.batch_size ${s.batchSize} × training.max_seq_len ${s.maxSeqLen} tokens on the ${s.backend} backend (${engine})`,
      {
        hint: `lower training.batch_size (--batch) and raise training.gradient_accumulation_steps (--grad-accum, now ${accum}) to keep the effective batch of ${s.batchSize * accum}, or lower training.max_seq_len (--seq-len); \`lora-study run-suite <suite.yaml> --dry-run\` estimates each run's peak memory before training${restart}`,
        cause: err,
      },
    );
  }
  return new BatchTooLargeError(
    `evaluation ran out of memory on a batch of eval.batch_size ${s.batchSize} × max_seq_len ${s.maxSeqLen} tokens on the ${s.backend} backend (${engine})`,
    { hint: `lower eval.batch_size (the evaluation batch) or training.max_seq_len (--seq-len), which also bounds evaluation rows${restart}`, cause: err },
  );
}
