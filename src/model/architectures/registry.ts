/**
 * Every architecture this project implements. Adding one: a folder next to this file exporting
 * an ArchitectureSpec, and one line in ARCHITECTURES (see the README, "Adding an architecture").
 */
import type { ModelConfig } from '../types.js';
import { gemma } from './gemma/index.js';
import { gpt2 } from './gpt2/index.js';
import { llama } from './llama/index.js';
import { phi } from './phi/index.js';
import { phi3 } from './phi3/index.js';
import type { ArchitectureSpec } from './spec.js';

export const ARCHITECTURES: readonly ArchitectureSpec[] = [
  llama,
  gpt2,
  phi,
  phi3,
  gemma,
];

/** config.json `model_type` values that load. */
export const SUPPORTED_MODEL_TYPES: readonly string[] = ARCHITECTURES.flatMap((a) => Object.keys(a.modelTypes));

/** The architecture implementing `modelType`, or undefined. */
export function architectureFor(modelType: string): ArchitectureSpec | undefined {
  return ARCHITECTURES.find((a) => Object.hasOwn(a.modelTypes, modelType));
}

/** The architecture of a parsed config (always registered: parsing went through it). */
export function specOf(config: Pick<ModelConfig, 'modelType'>): ArchitectureSpec {
  const spec = architectureFor(config.modelType);
  if (!spec) throw new Error(`internal: no architecture registered for model_type ${config.modelType}`);
  return spec;
}
