import * as tf from '@tensorflow/tfjs-core';
import '../../util/tfjs-setup.js';
import type { ConstantCache } from './constant-cache.js';
import { fusedAttentionSoftmax, fusedOpsAvailable } from './fused-ops.js';

/** Large negative instead of -inf so fully masked rows (padding queries) stay finite. */
const MASKED = -1e9;

/** The causal (and sliding-window) part of the mask, `[1, 1, T, S]`: 0 where visible, MASKED elsewhere. */
function causalMask(T: number, past: number, slidingWindow?: number | null): tf.Tensor {
  const S = past + T;
  const w = slidingWindow ?? Infinity;
  const causal = new Float32Array(T * S);
  for (let i = 0; i < T; i++) for (let j = 0; j < S; j++) causal[i * S + j] = j <= past + i && past + i - j < w ? 0 : MASKED;
  return tf.tensor(causal, [1, 1, T, S]);
}

/**
 * {@link buildAttentionMask}'s padded mask computed on the host, float32 step by float32 step as its
 * kernels do (max(causal + (1 − m)·MASKED, MASKED)), so the same bits, uploaded as one tensor
 * instead of six kernels and tape nodes. Where the fused layer kernels run (wasm: reading the
 * integer mask back is a copy).
 */
function hostPaddedMask(m: Int32Array | Uint8Array, batch: number, T: number, past: number, slidingWindow?: number | null): tf.Tensor {
  const S = past + T;
  const w = slidingWindow ?? Infinity;
  const masked = Math.fround(MASKED);
  const pad = Float32Array.from(m, (v) => Math.fround(Math.fround(1 - Math.fround(v)) * masked));
  const out = new Float32Array(batch * T * S);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < S; j++) {
        const causal = j <= past + i && past + i - j < w ? 0 : masked;
        out[(b * T + i) * S + j] = Math.max(Math.fround(causal + pad[b * S + j]), masked);
      }
    }
  }
  return tf.tensor(out, [batch, 1, T, S]);
}

/** Longest sequence whose causal mask is kept between calls (a `[T, T]` float32 table: 4 MiB at 1024). */
const MAX_CACHED_MASK = 1024;

/**
 * Additive attention mask `[B, 1, T, S]`: 0 where query i may attend key j, MASKED elsewhere.
 * Keys are the `past` cached positions followed by the T new ones; a key is visible when it is
 * not padding and not in the future (j ≤ past + i) and, with a sliding window w (Mistral,
 * Phi-3), not w or more positions back (past + i − j < w). With a `cache` and no past, the
 * causal part is sliced from a table kept there (without padding the mask returned may be that
 * table: do not dispose it).
 */
export function buildAttentionMask(attentionMask: tf.Tensor2D | null, batch: number, T: number, past: number, slidingWindow?: number | null, cache?: ConstantCache): tf.Tensor {
  const S = past + T;
  let causalT: tf.Tensor;
  if (cache && past === 0 && T <= MAX_CACHED_MASK) {
    const { capacity, tensors } = cache.get(`causal ${slidingWindow ?? ''}`, T, (cap) => [causalMask(cap, 0, slidingWindow)]);
    causalT = T === capacity ? tensors[0] : tf.slice(tensors[0], [0, 0, 0, 0], [1, 1, T, T]);
  } else causalT = causalMask(T, past, slidingWindow);
  if (!attentionMask) return causalT;
  if (attentionMask.shape[1] !== S) {
    throw new Error(`attention mask has ${attentionMask.shape[1]} positions but past (${past}) + new (${T}) = ${S}`);
  }
  if (fusedOpsAvailable() && (attentionMask.dtype === 'int32' || attentionMask.dtype === 'bool')) {
    const m = attentionMask.dataSync() as Int32Array | Uint8Array;
    // No padding (every position 1): the padded mask's values are the causal part's own
    // (causal + (1 − 1)·MASKED = causal + −0 = causal, never below MASKED), so that part, broadcast
    // over the batch as for a null mask, gives the same bits without building [B, 1, T, S].
    if (m.every((v) => v === 1)) return causalT;
    return hostPaddedMask(m, batch, T, past, slidingWindow);
  }
  const pad = tf.mul(tf.sub(1, tf.cast(attentionMask, 'float32')), MASKED).reshape([batch, 1, 1, S]);
  // Clamp so a key that is both padding and future is MASKED, not 2·MASKED.
  return tf.maximum(tf.add(causalT, pad), MASKED); // [B, 1, T, S]
}

/**
 * Scaled dot-product attention with grouped-query attention. q: [B, H, T, d], k/v: [B, Hkv, S, d],
 * mask: additive [B|1, 1, T, S]. Query head h reads key/value head ⌊h / nRep⌋, as HF's
 * repeat_kv; instead of copying k/v nRep times, the nRep query heads of a group are stacked
 * along the time axis, which needs no tile (whose gradient tfjs lacks at rank 5). Returns [B, H, T, d].
 */
export function scaledDotProductAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, mask: tf.Tensor): tf.Tensor {
  const [B, H, T, d] = q.shape as [number, number, number, number];
  const Hkv = k.shape[1] as number;
  const S = k.shape[2] as number;
  const nRep = H / Hkv;
  const qg = q.reshape([B, Hkv, nRep * T, d]); // [B, Hkv, nRep·T, d]
  const raw = tf.matMul(qg as tf.Tensor4D, k as tf.Tensor4D, false, true); // [B, Hkv, nRep·T, S]
  const probs = fusedAttentionSoftmax(raw, mask, 1 / Math.sqrt(d), nRep) ?? maskedSoftmax(raw, mask, 1 / Math.sqrt(d), [B, Hkv, nRep, T, S]);
  return tf.matMul(probs as tf.Tensor4D, v as tf.Tensor4D).reshape([B, H, T, d]); // [B, H, T, d]
}

/** softmax(raw·scale + mask) for raw `[B, Hkv, nRep·T, S]`, mask `[B|1, 1, T, S]` broadcast over the nRep stacked heads. */
function maskedSoftmax(raw: tf.Tensor, mask: tf.Tensor, scale: number, [B, Hkv, nRep, T, S]: number[]): tf.Tensor {
  const masked = tf.add(tf.mul(raw, scale).reshape([B, Hkv, nRep, T, S]), mask.reshape([mask.shape[0], 1, 1, T, S]));
  return tf.softmax(masked, -1).reshape([B, Hkv, nRep * T, S]);
}

/** [B, T, H·d] → [B, H, T, d] */
export function splitHeads(x: tf.Tensor, heads: number, headDim: number): tf.Tensor {
  const [B, T] = x.shape;
  return tf.transpose(x.reshape([B, T, heads, headDim]), [0, 2, 1, 3]);
}

/** [B, H, T, d] → [B, T, H·d] */
export function mergeHeads(x: tf.Tensor): tf.Tensor {
  const [B, H, T, d] = x.shape;
  return tf.transpose(x, [0, 2, 1, 3]).reshape([B, T, H * d]);
}
