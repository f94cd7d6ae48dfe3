import { z } from 'zod';
import { configErrorFrom } from './config-errors.js';
import { readYamlFile } from './load-yaml.js';
import { runConfigSchema, type RunConfig } from './run-config.js';
import { setPath } from './set-path.js';

/** Flags of run-single that override fields of the YAML config (dotted paths). */
export interface RunOverrides {
  name?: string;
  model?: string;
  dataset?: string;
  seed?: number;
  quantization?: string;
  r?: number;
  alpha?: number;
  dropout?: number;
  targets?: string;
  rslora?: boolean;
  dora?: boolean;
  init?: boolean | string;
  loraplusRatio?: number;
  steps?: number;
  lr?: number;
  batch?: number;
  gradAccum?: number;
  seqLen?: number;
  warmup?: number;
  evalSamples?: number;
  generate?: boolean;
}

/** `q_proj,v_proj` → list; `all-linear` or a regex (contains regex characters) stays a string. */
export function parseTargets(spec: string): string | string[] {
  if (spec === 'all-linear' || /[\\^$*+?()[\]{}|]/.test(spec)) return spec;
  return spec.split(',').map((s) => s.trim()).filter(Boolean);
}

const PATHS: Record<keyof RunOverrides, string[]> = {
  name: ['name'], model: ['model'], dataset: ['dataset'], seed: ['seed'], quantization: ['quantization'],
  r: ['lora', 'r'], alpha: ['lora', 'lora_alpha'], dropout: ['lora', 'lora_dropout'], targets: ['lora', 'target_modules'], rslora: ['lora', 'use_rslora'],
  dora: ['lora', 'use_dora'], init: ['lora', 'init_lora_weights'], loraplusRatio: ['training', 'loraplus_lr_ratio'],
  steps: ['training', 'max_steps'], lr: ['training', 'learning_rate'], batch: ['training', 'batch_size'], gradAccum: ['training', 'gradient_accumulation_steps'],
  seqLen: ['training', 'max_seq_len'], warmup: ['training', 'warmup_steps'], evalSamples: ['eval', 'max_samples'], generate: ['eval', 'generate'],
};

/**
 * The config field an override sets and its zod schema, so that the flag is validated exactly as
 * the field is in a YAML file (`--steps` with `training.max_steps`'s schema).
 */
export function overrideField(key: keyof RunOverrides): { path: string; schema: z.ZodType } {
  let schema: z.ZodType = runConfigSchema;
  for (const part of PATHS[key]) {
    while (schema instanceof z.ZodDefault || schema instanceof z.ZodOptional) schema = schema.unwrap() as z.ZodType;
    if (!(schema instanceof z.ZodObject)) throw new Error(`internal: ${PATHS[key].join('.')} is not a config field`);
    schema = schema.shape[part] as z.ZodType;
  }
  return { path: PATHS[key].join('.'), schema };
}

/** YAML (optional) + flag overrides → a validated, fully defaulted run config. */
export function resolveRunConfig(file: string | undefined, overrides: RunOverrides): RunConfig {
  const raw = (file ? readYamlFile(file) : {}) as Record<string, unknown>;
  const base: Record<string, unknown> = raw && typeof raw === 'object' ? structuredClone(raw) : {};
  for (const [key, value] of Object.entries(overrides) as Array<[keyof RunOverrides, unknown]>) {
    if (value === undefined || !(key in PATHS)) continue;
    setPath(base, PATHS[key], key === 'targets' ? parseTargets(value as string) : value);
  }
  const parsed = runConfigSchema.safeParse(base);
  if (!parsed.success) throw configErrorFrom(file ?? '(command-line flags)', parsed.error);
  return parsed.data;
}
