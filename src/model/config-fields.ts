/**
 * Pieces every architecture's config parser shares: the errors, zod field types and the checks
 * that do not depend on the architecture (RoPE scaling, grouped-query heads).
 */
import { z } from 'zod';
import { LoraStudyError } from '../util/errors.js';

/** A field of config.json is missing, has the wrong type or an inconsistent value. */
export class ModelConfigError extends LoraStudyError {
  constructor(readonly file: string, readonly field: string, readonly reason: string, hint?: string) {
    super(`${file}: field "${field}" ${reason}`, {
      hint: hint ?? 'config.json must be the one transformers writes with model.save_pretrained(dir)',
    });
  }
}

/** `model_type` names an architecture this project does not implement. */
export class UnsupportedModelTypeError extends LoraStudyError {
  constructor(readonly file: string, readonly modelType: string, readonly supported: readonly string[]) {
    super(`${file}: model_type "${modelType}" is not supported; supported model types: ${supported.join(', ')}`, {
      hint: `pick a model of a supported architecture (${supported.join(', ')}); adding one is a folder in src/model/architectures (see the README)`,
    });
  }
}

/** A feature the config asks for that the architectures do not implement yet. */
export class UnsupportedConfigFeatureError extends ModelConfigError {
  constructor(file: string, field: string, readonly value: unknown, what: string) {
    super(file, field, `is ${JSON.stringify(value)}: ${what} is not supported yet`, 'use a model without this feature');
  }
}

export const count = z.number().int().positive();
const tokenId = z.number().int().nonnegative().nullish();
/** Llama 3 lists several end-of-sequence ids; the first is the one used for padding and stopping. */
export const tokenIds = z.union([tokenId, z.array(z.number().int().nonnegative())]);

/** Sizes every decoder config.json with HF's common names has (llama, phi, phi3, gemma). */
export const decoderSizeFields = {
  vocab_size: count,
  hidden_size: count,
  intermediate_size: count,
  num_hidden_layers: count,
  num_attention_heads: count,
  num_key_value_heads: count.nullish(),
};

/** The ModelConfig fields read the same way from every such config.json. */
export function decoderSizes(
  c: { vocab_size: number; hidden_size: number; intermediate_size: number; num_hidden_layers: number; num_attention_heads: number },
  ids: { bos_token_id?: number | number[] | null; eos_token_id?: number | number[] | null; pad_token_id?: number | number[] | null },
  raw: Record<string, unknown>,
) {
  return {
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    numLayers: c.num_hidden_layers,
    numHeads: c.num_attention_heads,
    intermediateSize: c.intermediate_size,
    bosTokenId: firstId(ids.bos_token_id),
    eosTokenId: firstId(ids.eos_token_id),
    padTokenId: firstId(ids.pad_token_id),
    raw,
  };
}

/**
 * Dimensions of each head that RoPE rotates: int(head_dim · partial_rotary_factor), as
 * transformers computes them (transformers ≥ 5 may keep the factor in rope_parameters).
 */
export function rotaryDims(
  hd: number,
  c: { partial_rotary_factor: number; rope_parameters?: { partial_rotary_factor?: number } | null },
  file: string,
): number {
  const factor = c.rope_parameters?.partial_rotary_factor ?? c.partial_rotary_factor;
  const dims = Math.floor(hd * factor);
  if (dims < 2 || dims % 2 !== 0) {
    throw new ModelConfigError(file, 'partial_rotary_factor', `(${factor}) gives ${dims} rotary dimensions of head_dim ${hd}; RoPE needs an even number ≥ 2`);
  }
  return dims;
}

/** RoPE fields as transformers ≤ 4 (rope_theta, rope_scaling) and ≥ 5 (rope_parameters) write them. */
export const ropeFields = {
  rope_theta: z.number().positive().default(10000),
  rope_scaling: z.unknown().optional(),
  rope_parameters: z
    .looseObject({ rope_theta: z.number().positive().optional(), rope_type: z.string().optional(), partial_rotary_factor: z.number().optional() })
    .nullish(),
};

export function firstId(v: number | number[] | null | undefined): number | null {
  if (Array.isArray(v)) return v[0] ?? null;
  return v ?? null;
}

export function parseWith<S extends z.ZodType>(schema: S, json: Record<string, unknown>, file: string): z.output<S> {
  const r = schema.safeParse(json);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue.path.join('.') || '(root)';
  const missing = issue.path.length === 1 && json[String(issue.path[0])] === undefined;
  throw new ModelConfigError(file, field, missing ? 'is required but missing' : `is invalid: ${issue.message}`);
}

/** Refuses RoPE scaling (long-context variants) and returns the RoPE base. */
export function ropeTheta(
  c: { rope_theta: number; rope_scaling?: unknown; rope_parameters?: { rope_theta?: number; rope_type?: string } | null },
  file: string,
): number {
  if (c.rope_scaling !== undefined && c.rope_scaling !== null) {
    throw new UnsupportedConfigFeatureError(file, 'rope_scaling', c.rope_scaling, 'RoPE scaling (long-context variants)');
  }
  const ropeType = c.rope_parameters?.rope_type;
  if (ropeType !== undefined && ropeType !== 'default') {
    throw new UnsupportedConfigFeatureError(file, 'rope_parameters.rope_type', ropeType, 'RoPE scaling (long-context variants)');
  }
  return c.rope_parameters?.rope_theta ?? c.rope_theta;
}

/** Key/value heads (default: one per query head), checked to divide the query heads. */
export function kvHeads(numHeads: number, numKv: number | null | undefined, file: string): number {
  const kv = numKv ?? numHeads;
  if (numHeads % kv !== 0) throw new ModelConfigError(file, 'num_key_value_heads', `(${kv}) must divide num_attention_heads (${numHeads})`);
  return kv;
}

/** head_dim = hidden / heads when the config does not set it, which then must divide evenly. */
export function headDim(hidden: number, numHeads: number, explicit: number | null | undefined, file: string, hiddenField = 'hidden_size'): number {
  if (explicit != null) return explicit;
  if (hidden % numHeads !== 0) {
    throw new ModelConfigError(file, hiddenField, `(${hidden}) must be a multiple of num_attention_heads (${numHeads}) when head_dim is not given`);
  }
  return hidden / numHeads;
}
