import * as tf from '@tensorflow/tfjs-core';
import type { HostBatch } from './batching.js';

export interface BatchTensors {
  inputIds: tf.Tensor2D;
  attentionMask: tf.Tensor2D;
  labels: tf.Tensor2D;
}

export function toTensors(b: HostBatch): BatchTensors {
  const shape: [number, number] = [b.batchSize, b.seqLen];
  return {
    inputIds: tf.tensor2d(b.inputIds, shape, 'int32'),
    attentionMask: tf.tensor2d(b.attentionMask, shape, 'int32'),
    labels: tf.tensor2d(b.labels, shape, 'int32'),
  };
}

export function disposeBatch(t: BatchTensors): void {
  t.inputIds.dispose();
  t.attentionMask.dispose();
  t.labels.dispose();
}
