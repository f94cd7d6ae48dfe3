import * as tf from '@tensorflow/tfjs-core';
import type { CausalLM, KvCache } from '../model/causal-lm.js';
import { Rng } from '../util/random.js';
import { checkpointInterrupt } from './interrupt.js';

export interface GenerateOptions {
  maxNewTokens: number;
  /** 0 = greedy (the default). */
  temperature?: number;
  /** Nucleus sampling mass; 1 = off. */
  topP?: number;
  eosTokenId: number | null;
  padTokenId: number;
  /** Reuse keys/values of earlier positions (default true); false recomputes the whole prefix each step. */
  useCache?: boolean;
  seed?: number;
  /** Positions the model has (default its max_position_embeddings / n_positions); see `fitToPositions`. */
  maxPositions?: number;
  /** Checked between steps, after letting the event loop run (Ctrl-C): throws EvaluationInterruptedError when set. */
  shouldStop?: () => boolean;
}

export interface GenerateResult {
  /** New tokens per prompt, stopped at (and excluding) EOS. */
  tokens: number[][];
  /** Tokens generated per second of wall time, over all prompts. */
  tokensPerS: number;
  /** How many prompts lost tokens on the left to fit the model's positions. */
  truncatedPrompts: number;
  /** The new-token limit actually used (below maxNewTokens when the model has fewer positions). */
  maxNewTokens: number;
}

/**
 * Never runs past the model's positions: a row's prompt plus its new tokens fit in `maxPositions`.
 * New tokens are capped at maxPositions − 1 (one prompt token must remain), then prompts longer
 * than what is left keep their last tokens (cut from the left, as the end of a prompt is what
 * the answer follows).
 */
export function fitToPositions(prompts: number[][], maxNewTokens: number, maxPositions: number): { prompts: number[][]; maxNewTokens: number; truncated: number } {
  const newTokens = Math.max(0, Math.min(maxNewTokens, maxPositions - 1));
  const keep = maxPositions - newTokens;
  let truncated = 0;
  const fitted = prompts.map((p) => {
    if (p.length <= keep) return p;
    truncated++;
    return p.slice(p.length - keep);
  });
  return { prompts: fitted, maxNewTokens: newTokens, truncated };
}

function pickToken(logits: Float32Array, opts: GenerateOptions, rng: Rng): number {
  const temperature = opts.temperature ?? 0;
  if (temperature <= 0) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  const max = Math.max(...logits);
  const probs = Array.from(logits, (l, i) => ({ i, p: Math.exp((l - max) / temperature) }));
  const z = probs.reduce((s, x) => s + x.p, 0);
  probs.forEach((x) => (x.p /= z));
  probs.sort((a, b) => b.p - a.p);
  const topP = opts.topP ?? 1;
  let mass = 0;
  const kept: typeof probs = [];
  for (const x of probs) {
    kept.push(x);
    mass += x.p;
    if (mass >= topP) break;
  }
  let u = rng.next() * mass;
  for (const x of kept) {
    u -= x.p;
    if (u <= 0) return x.i;
  }
  return kept[kept.length - 1].i;
}

/** tf.tidy over a step that returns the next-token logits and the cache (kept, not disposed). */
function tidyStep(fn: () => { next: tf.Tensor2D; newCache: KvCache | null }): { next: tf.Tensor2D; newCache: KvCache | null } {
  let out: { next: tf.Tensor2D; newCache: KvCache | null } | undefined;
  tf.tidy(() => {
    out = fn();
    tf.keep(out.next);
    out.newCache?.layers.forEach((l) => {
      tf.keep(l.k);
      tf.keep(l.v);
    });
  });
  return out!;
}

function disposeCache(c: KvCache | null): void {
  c?.layers.forEach((l) => {
    l.k.dispose();
    l.v.dispose();
  });
}

/**
 * Batched autoregressive generation with left padding: each prompt is right-aligned, padding is
 * masked, and positions count from each prompt's first real token (as HF computes them from the
 * attention mask), so a batch generates the same tokens as each prompt alone. With the KV cache
 * every step feeds one token per row; without it the whole sequence is recomputed (same result).
 * Prompt + new tokens never exceed the model's positions (`fitToPositions`).
 */
export async function generate(model: CausalLM, rawPrompts: number[][], opts: GenerateOptions): Promise<GenerateResult> {
  const fit = fitToPositions(rawPrompts, opts.maxNewTokens, opts.maxPositions ?? model.config.maxPositionEmbeddings);
  const prompts = fit.prompts;
  const B = prompts.length;
  if (B === 0) return { tokens: [], tokensPerS: 0, truncatedPrompts: 0, maxNewTokens: fit.maxNewTokens };
  const useCache = opts.useCache ?? true;
  const rng = new Rng(opts.seed ?? 0);
  const P = Math.max(...prompts.map((p) => p.length));
  const seqs = prompts.map((p) => [...new Array(P - p.length).fill(opts.padTokenId), ...p]);
  const mask = prompts.map((p) => [...new Array(P - p.length).fill(0), ...new Array(p.length).fill(1)]);
  const out: number[][] = prompts.map(() => []);
  const done = new Array(B).fill(false);
  let cache: KvCache | null = null;
  const t0 = performance.now();
  let generated = 0;
  try {
    for (let step = 0; step < fit.maxNewTokens && done.some((d) => !d); step++) {
      const S = seqs[0].length;
      const feedFrom: number = useCache && cache ? S - 1 : 0;
      const T: number = S - feedFrom;
      // HF: position_ids = cumsum(attention_mask) - 1, padding positions filled with 1.
      const positions = mask.map((m) => {
        const pos: number[] = [];
        let c = 0;
        for (let j = 0; j < S; j++) {
          pos.push(m[j] ? c : 1);
          c += m[j];
        }
        return pos.slice(feedFrom);
      });
      const past: KvCache | null = cache;
      const { next, newCache } = tidyStep(() => {
        const inputIds = tf.tensor2d(seqs.map((s) => s.slice(feedFrom)), [B, T], 'int32');
        const res = model.forward({
          inputIds,
          attentionMask: tf.tensor2d(mask, [B, S], 'int32'),
          positionIds: tf.tensor2d(positions, [B, T], 'int32'),
          cache: useCache ? past : null,
          useCache,
        });
        const last = tf.slice(res.logits, [0, T - 1, 0], [B, 1, -1]).reshape([B, -1]) as tf.Tensor2D;
        return { next: last, newCache: res.cache ?? null };
      });
      if (useCache) {
        disposeCache(cache);
        cache = newCache;
      }
      const V = next.shape[1] as number;
      const data = (await next.data()) as Float32Array;
      next.dispose();
      for (let b = 0; b < B; b++) {
        const tok = pickToken(data.subarray(b * V, (b + 1) * V), opts, rng);
        seqs[b].push(tok);
        mask[b].push(1);
        if (done[b]) continue;
        if (tok === opts.eosTokenId) done[b] = true;
        else {
          out[b].push(tok);
          generated++;
        }
      }
      await checkpointInterrupt(opts.shouldStop, 'generation');
    }
  } finally {
    disposeCache(cache); // also when stopped early
  }
  const seconds = (performance.now() - t0) / 1000;
  return { tokens: out, tokensPerS: seconds > 0 ? generated / seconds : 0, truncatedPrompts: fit.truncated, maxNewTokens: fit.maxNewTokens };
}
