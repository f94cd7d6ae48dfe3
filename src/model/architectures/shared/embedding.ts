import * as tf from '@tensorflow/tfjs-core';
import '../../../util/tfjs-setup.js';
import { VocabChunks, type VocabTable } from '../../layers/vocab-chunks.js';

/**
 * Token embedding lookup. A frozen table uses gather; a trained one uses one-hot · E, because
 * gather's gradient needs UnsortedSegmentSum, which the tfjs wasm backend does not implement.
 * A table split by vocabulary (see vocab-chunks.ts) is looked up chunk by chunk.
 */
export function embed(table: VocabTable, ids: tf.Tensor2D, trainable: boolean): tf.Tensor3D {
  const [B, T] = ids.shape;
  const [V, C] = table.shape;
  if (table instanceof VocabChunks) return table.lookup(ids.reshape([-1]) as tf.Tensor1D, trainable).reshape([B, T, C]);
  if (!trainable) return tf.gather(table, ids.reshape([-1])).reshape([B, T, C]);
  const oneHot = tf.oneHot(ids.reshape([-1]) as tf.Tensor1D, V).cast("float32"); // [B·T, V]
  return tf.matMul(oneHot, table).reshape([B, T, C]);
}
