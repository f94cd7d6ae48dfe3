import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import type { CausalLM } from '../model/causal-lm.js';
import { readSafetensors, writeSafetensors } from '../model/safetensors.js';
import type { HostTensor } from '../model/types.js';
import { writeDirAtomic } from '../util/atomic-write.js';
import { LoraStudyError } from '../util/errors.js';
import { injectLora, type AdapterValues, type InjectedLora } from './inject.js';
import { initLoraWeightsSchema, loraConfigSchema, moduleLoraShape, type LoraConfig } from './lora-config.js';
import { moduleSuffixes } from './target-modules.js';
import { parseHubModelId } from '../model/hub/model-id.js';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
/** PEFT wraps the HF model twice: PeftModel.base_model (LoraModel).model (the HF model). */
const PEFT_PREFIX = 'base_model.model.';

export class AdapterFormatError extends LoraStudyError {
  constructor(readonly path: string, reason: string, hint?: string) {
    super(`adapter ${path}: ${reason}`, { hint: hint ?? 'an adapter folder holds adapter_config.json and adapter_model.safetensors as PEFT writes them' });
  }
}

/** The fields of PEFT's adapter_config.json this project reads; the rest is kept as is. */
const peftConfigSchema = z
  .object({
    peft_type: z.string(),
    task_type: z.string().nullish(),
    r: z.number().int().positive(),
    lora_alpha: z.number().positive(),
    lora_dropout: z.number().min(0).max(1).default(0),
    target_modules: z.union([z.array(z.string()), z.string()]).nullish(),
    use_rslora: z.boolean().default(false),
    use_dora: z.boolean().default(false),
    bias: z.string().default('none'),
    rank_pattern: z.record(z.string(), z.unknown()).nullish(),
    alpha_pattern: z.record(z.string(), z.unknown()).nullish(),
    base_model_name_or_path: z.string().nullish(),
    init_lora_weights: z.unknown().optional(),
    // Options of newer PEFT releases that change what the adapter computes; refused when on.
    lora_bias: z.boolean().default(false),
    use_qalora: z.boolean().default(false),
    modules_to_save: z.array(z.string()).nullish(),
    layers_to_transform: z.unknown().optional(),
    trainable_token_indices: z.unknown().optional(),
    target_parameters: z.unknown().optional(),
    alora_invocation_tokens: z.unknown().optional(),
  })
  .passthrough();

export function adapterTensorName(module: string, which: 'A' | 'B'): string {
  return `${PEFT_PREFIX}${module}.lora_${which}.weight`;
}

/** DoRA's magnitude as PEFT saves it: `<module>.lora_magnitude_vector`, no `.weight` (PEFT keeps the pre-0.12 key). */
export function magnitudeTensorName(module: string): string {
  return `${PEFT_PREFIX}${module}.lora_magnitude_vector`;
}

/** Reads a trained tensor back asynchronously (WebGPU cannot read computed values synchronously). */
const host = async (t: tf.Tensor): Promise<HostTensor> => ({ shape: [...t.shape], data: new Float32Array((await t.data()) as Float32Array) });

/**
 * PiSSA/OLoRA train on a residual base W_res = W − s·B₀A₀. PEFT's
 * `save_pretrained(path_initial_model_for_weight_conversion=…)` turns such an adapter into a plain
 * LoRA against the original W: ΔW = s·(B·A − B₀·A₀) = s·[B | −B₀]·[A ; A₀], rank 2r, with r and
 * lora_alpha doubled (alpha × √2 with rsLoRA) so the scale stays s. Returns the stacked factors.
 */
export function convertToPlainLora(A: HostTensor, B: HostTensor, A0: Float32Array, B0: Float32Array): { A: HostTensor; B: HostTensor } {
  const [r, inF] = A.shape;
  const out = B.shape[0];
  const a = new Float32Array(2 * r * inF);
  a.set(A.data, 0);
  a.set(A0, r * inF);
  const b = new Float32Array(out * 2 * r);
  for (let o = 0; o < out; o++) {
    for (let k = 0; k < r; k++) {
      b[o * 2 * r + k] = B.data[o * r + k];
      b[o * 2 * r + r + k] = -B0[o * r + k];
    }
  }
  return { A: { shape: [2 * r, inF], data: a }, B: { shape: [out, 2 * r], data: b } };
}

/**
 * Writes the model's adapters in the PEFT format (adapter_config.json + adapter_model.safetensors),
 * atomically. PiSSA/OLoRA adapters are written converted to a plain LoRA of rank 2r against the
 * original base (init_lora_weights true), so PEFT and this tool load them onto the unmodified model.
 */
export async function saveAdapter(
  dir: string,
  model: CausalLM,
  lora: InjectedLora,
  opts: { baseModel: string; targetModules?: string | string[] },
): Promise<void> {
  const tensors = new Map<string, HostTensor>();
  const converted = lora.initial !== null;
  for (const name of lora.modules) {
    const l = model.linears.get(name)?.lora;
    if (!l) throw new Error(`internal: module ${name} listed as adapted but has no LoRA weights`);
    let A = await host(l.A);
    let B = await host(l.B);
    if (converted) {
      const init = lora.initial!.get(name);
      if (!init) throw new Error(`internal: no initial PiSSA/OLoRA factors kept for ${name}`);
      ({ A, B } = convertToPlainLora(A, B, init.A, init.B));
    }
    tensors.set(adapterTensorName(name, 'A'), A);
    tensors.set(adapterTensorName(name, 'B'), B);
    if (l.magnitude) tensors.set(magnitudeTensorName(name), await host(l.magnitude));
  }
  const cfg = lora.config;
  const requested = opts.targetModules ?? cfg.target_modules;
  // PEFT itself expands "all-linear" to the suffix list before saving.
  const targetModules = requested === undefined || requested === 'all-linear' ? moduleSuffixes(lora.modules).sort() : requested;
  const alphaFactor = converted ? (cfg.use_rslora ? Math.SQRT2 : 2) : 1;
  const rFactor = converted ? 2 : 1;
  const scaled = (rec: Record<string, number>, f: number) => Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, v * f]));
  const hubBase = parseHubModelId(opts.baseModel);
  const config = {
    alpha_pattern: scaled(cfg.alpha_pattern, alphaFactor),
    auto_mapping: null,
    // A Hub model recorded as `org/name@<sha>` is written the PEFT way: the id, and the commit in `revision`.
    base_model_name_or_path: hubBase?.repo ?? opts.baseModel,
    bias: 'none',
    fan_in_fan_out: lora.modules.every((m) => model.linears.get(m)?.layout === 'in_out'),
    inference_mode: true,
    init_lora_weights: converted ? true : cfg.init_lora_weights,
    layers_pattern: cfg.layers_pattern ?? null,
    layers_to_transform: cfg.layers_to_transform ?? null,
    lora_alpha: cfg.lora_alpha * alphaFactor,
    lora_dropout: cfg.lora_dropout,
    modules_to_save: null,
    peft_type: 'LORA',
    r: cfg.r * rFactor,
    rank_pattern: scaled(cfg.rank_pattern, rFactor),
    revision: hubBase?.revision ?? null,
    target_modules: targetModules,
    task_type: 'CAUSAL_LM',
    use_dora: cfg.use_dora,
    use_rslora: cfg.use_rslora,
  };
  await writeDirAtomic(dir, async (tmp) => {
    await writeSafetensors(join(tmp, ADAPTER_WEIGHTS), tensors);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(tmp, ADAPTER_CONFIG), `${JSON.stringify(config, null, 2)}\n`);
  });
}

export interface LoadedAdapter {
  config: LoraConfig;
  raw: Record<string, unknown>;
  weights: Map<string, AdapterValues>;
}

/** Reads a PEFT LoRA adapter folder, validating config fields and every tensor name. */
export async function readAdapter(dir: string): Promise<LoadedAdapter> {
  const cfgPath = join(dir, ADAPTER_CONFIG);
  if (!existsSync(cfgPath)) throw new AdapterFormatError(dir, `no ${ADAPTER_CONFIG}`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(cfgPath, 'utf8'));
  } catch (err) {
    throw new AdapterFormatError(cfgPath, `not valid JSON (${(err as Error).message})`);
  }
  const parsed = peftConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AdapterFormatError(cfgPath, `field "${issue.path.join('.')}": ${issue.message}`);
  }
  const p = parsed.data;
  if (p.peft_type !== 'LORA') throw new AdapterFormatError(cfgPath, `peft_type is "${p.peft_type}", only "LORA" is supported`);
  if (p.bias !== 'none') throw new AdapterFormatError(cfgPath, `bias "${p.bias}" is not supported (only "none")`);
  const unsupported: Array<[string, boolean]> = [
    ['lora_bias', p.lora_bias],
    ['use_qalora', p.use_qalora],
    ['modules_to_save', (p.modules_to_save ?? []).length > 0],
    ['trainable_token_indices', p.trainable_token_indices != null],
    ['target_parameters', p.target_parameters != null],
    ['alora_invocation_tokens', p.alora_invocation_tokens != null],
  ];
  for (const [field, on] of unsupported) {
    if (on) throw new AdapterFormatError(cfgPath, `${field} is set; adapters that use it are not supported`, 'train the adapter without that option, or merge it in PEFT first');
  }
  const init = initLoraWeightsSchema.safeParse(p.init_lora_weights ?? true);
  if (!init.success) {
    throw new AdapterFormatError(cfgPath, `init_lora_weights ${JSON.stringify(p.init_lora_weights)} is not supported (supported: true, false, "gaussian", "pissa", "pissa_niter_<N>", "olora")`);
  }
  // The config as this project reads it; rank_pattern / alpha_pattern decide each module's r and alpha.
  const parsedCfg = loraConfigSchema.safeParse({
    r: p.r,
    lora_alpha: p.lora_alpha,
    lora_dropout: p.lora_dropout,
    target_modules: p.target_modules ?? undefined,
    use_rslora: p.use_rslora,
    use_dora: p.use_dora,
    init_lora_weights: init.data,
    rank_pattern: p.rank_pattern ?? {},
    alpha_pattern: p.alpha_pattern ?? {},
    layers_to_transform: p.layers_to_transform ?? null,
    layers_pattern: p.layers_pattern ?? null,
  });
  if (!parsedCfg.success) {
    const issue = parsedCfg.error.issues[0];
    throw new AdapterFormatError(cfgPath, `field "${issue.path.join('.')}": ${issue.message}`);
  }
  const config = parsedCfg.data;
  const weightsPath = join(dir, ADAPTER_WEIGHTS);
  if (!existsSync(weightsPath)) {
    const bin = existsSync(join(dir, 'adapter_model.bin'));
    throw new AdapterFormatError(dir, `no ${ADAPTER_WEIGHTS}${bin ? ' (found adapter_model.bin, a pickle this tool does not read)' : ''}`,
      bin ? 'save the adapter with safe_serialization=True (the PEFT default) to get adapter_model.safetensors' : undefined);
  }
  const tensors = await readSafetensors(weightsPath);
  const weights = new Map<string, { A?: HostTensor; B?: HostTensor; magnitude?: HostTensor }>();
  for (const [key, t] of tensors) {
    // PEFT strips the adapter name on save; tolerate files that kept it (".lora_A.default.weight").
    const m = /^base_model\.model\.(.+)\.lora_([AB])(?:\.[^.]+)?\.weight$/.exec(key);
    const mag = /^base_model\.model\.(.+)\.lora_magnitude_vector(?:\.[^.]+)?(?:\.weight)?$/.exec(key);
    if (!m && !mag) throw new AdapterFormatError(weightsPath, `unexpected tensor "${key}" (only LoRA A/B weights and DoRA magnitudes are supported)`);
    if (mag && !p.use_dora) throw new AdapterFormatError(weightsPath, `holds a DoRA magnitude ("${key}") but adapter_config.json has use_dora false`);
    const module = (m ?? mag)![1];
    const entry = weights.get(module) ?? {};
    if (m) entry[m[2] as 'A' | 'B'] = t;
    else entry.magnitude = t;
    weights.set(module, entry);
  }
  const complete = new Map<string, AdapterValues>();
  for (const [module, { A, B, magnitude }] of weights) {
    if (!A || !B) throw new AdapterFormatError(weightsPath, `module ${module} has lora_${A ? 'B' : 'A'} missing`);
    const { r } = moduleLoraShape(config, module);
    if (A.shape.length !== 2 || B.shape.length !== 2 || A.shape[0] !== r || B.shape[1] !== r) {
      throw new AdapterFormatError(weightsPath, `module ${module}: lora_A [${A.shape}] / lora_B [${B.shape}] do not have rank r=${r}${r !== p.r ? ' (from rank_pattern)' : ''}`);
    }
    if (p.use_dora && !magnitude) throw new AdapterFormatError(weightsPath, `use_dora is true but module ${module} has no lora_magnitude_vector`);
    if (magnitude && (magnitude.shape.length !== 1 || magnitude.shape[0] !== B.shape[0])) {
      throw new AdapterFormatError(weightsPath, `module ${module}: lora_magnitude_vector [${magnitude.shape}] should be [${B.shape[0]}] (one value per output)`);
    }
    complete.set(module, magnitude ? { A, B, magnitude } : { A, B });
  }
  if (complete.size === 0) throw new AdapterFormatError(weightsPath, 'holds no LoRA tensors');
  return { config, raw: json as Record<string, unknown>, weights: complete };
}

/** Loads a PEFT adapter onto a model, checking every module exists with matching shapes. */
export async function loadAdapter(dir: string, model: CausalLM): Promise<InjectedLora> {
  const adapter = await readAdapter(dir);
  for (const [module, { A, B }] of adapter.weights) {
    const layer = model.linears.get(module);
    if (!layer) throw new AdapterFormatError(dir, `names module "${module}", which the base model does not have`, 'was this adapter trained on a different base model?');
    if (A.shape[1] !== layer.inFeatures || B.shape[0] !== layer.outFeatures) {
      throw new AdapterFormatError(dir, `module ${module}: adapter expects in=${A.shape[1]}, out=${B.shape[0]}; the model has in=${layer.inFeatures}, out=${layer.outFeatures}`);
    }
  }
  // An unconverted PiSSA/OLoRA adapter (init_lora_weights "pissa"/"olora") expects the residual
  // base: injectLora recomputes it from this base, as PEFT's from_pretrained does, then loads A/B.
  return injectLora(model, adapter.config, { seed: 0, initial: adapter.weights });
}
