/**
 * config.json → ModelConfig. The architecture registered for `model_type` parses it, with the
 * defaults of its transformers config class (a config.json may omit any field equal to them).
 */
import { architectureFor, SUPPORTED_MODEL_TYPES } from './architectures/registry.js';
import { ModelConfigError, UnsupportedModelTypeError } from './config-fields.js';
import type { ModelConfig } from './types.js';

export { ModelConfigError, UnsupportedConfigFeatureError, UnsupportedModelTypeError } from './config-fields.js';

/** Validates a parsed config.json (`file` is named in every error) and normalises it. */
export function parseModelConfig(json: unknown, file: string): ModelConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ModelConfigError(file, '(root)', 'must be a JSON object');
  }
  const obj = json as Record<string, unknown>;
  const modelType = obj.model_type;
  if (modelType === undefined) throw new ModelConfigError(file, 'model_type', 'is required but missing');
  if (typeof modelType !== 'string') throw new ModelConfigError(file, 'model_type', `must be a string, got ${JSON.stringify(modelType)}`);
  const spec = architectureFor(modelType);
  if (!spec) throw new UnsupportedModelTypeError(file, modelType, SUPPORTED_MODEL_TYPES);
  return spec.parseConfig(obj, file, modelType);
}
