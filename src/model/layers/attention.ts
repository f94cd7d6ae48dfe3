import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';

/** Large negative instead of -inf so fully masked rows (padding queries) stay finite. */
const MASKED = -1e9;

/**
 * Additive attention mask `[B, 1, T, S]`: 0 where query i may attend key j, MASKED elsewhere.
 * Keys are the `past` cached positions followed by the T new ones; a key is visible when it is
 * not padding and not in the future (j ≤ past + i).
 */
export function buildAttentionMask(attentionMask: tf.Tensor2D | null, batch: number, T: number, past: number): tf.Tensor {
  const S = past + T;
  const causal = new Float32Array(T * S);
  for (let i = 0; i < T; i++) for (let j = 0; j < S; j++) causal[i * S + j] = j <= past + i ? 0 : MASKED;
  const causalT = tf.tensor(causal, [1, 1, T, S]);
  if (!attentionMask) return causalT;
  if (attentionMask.shape[1] !== S) {
    throw new Error(`attention mask has ${attentionMask.shape[1]} positions but past (${past}) + new (${T}) = ${S}`);
  }
  const pad = tf.mul(tf.sub(1, tf.cast(attentionMask, 'float32')), MASKED).reshape([batch, 1, 1, S]);
  // Clamp so a key that is both padding and future is MASKED, not 2·MASKED.
  return tf.maximum(tf.add(causalT, pad), MASKED); // [B, 1, T, S]
}

/** Repeats key/value heads for grouped-query attention: [B, Hkv, S, d] → [B, Hkv·nRep, S, d]. */
export function repeatKv(x: tf.Tensor, nRep: number): tf.Tensor {
  if (nRep === 1) return x;
  const [B, Hkv, S, d] = x.shape;
  return tf.tile(x.reshape([B, Hkv, 1, S, d]), [1, 1, nRep, 1, 1]).reshape([B, Hkv * nRep, S, d]);
}

/**
 * Scaled dot-product attention. q: [B, H, T, d], k/v: [B, H, S, d] (already repeated for GQA),
 * mask: additive [B|1, 1, T, S]. Returns [B, H, T, d].
 */
export function scaledDotProductAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, mask: tf.Tensor): tf.Tensor {
  const d = q.shape[3] as number;
  const scores = tf.add(tf.mul(tf.matMul(q as tf.Tensor4D, k as tf.Tensor4D, false, true), 1 / Math.sqrt(d)), mask); // [B, H, T, S]
  return tf.matMul(tf.softmax(scores, -1) as tf.Tensor4D, v as tf.Tensor4D); // [B, H, T, d]
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
