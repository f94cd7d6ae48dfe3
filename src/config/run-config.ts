import { z } from 'zod';
import { loraConfigSchema } from '../lora/lora-config.js';
import type { BackendRequest } from '../engine/types.js';
import { pathSegmentSchema } from '../util/path-segment.js';

/** Base-weight precisions (QLoRA-style quantization of the frozen weights; LoRA stays float32). */
export const QUANT_FORMATS = ['fp32', 'int8', 'nf4', 'nf4-dq', 'fp4'] as const;

export const trainingSchema = z
  .object({
    max_steps: z.number().int().positive().default(100).describe('Optimizer steps to run.'),
    learning_rate: z.number().positive().default(2e-4).describe('Peak learning rate (after warmup).'),
    batch_size: z.number().int().positive().default(8).describe('Examples per micro-batch (one forward/backward).'),
    gradient_accumulation_steps: z.number().int().positive().default(1).describe('Micro-batches summed per optimizer step; effective batch = batch_size × this.'),
    max_seq_len: z.number().int().min(2).default(256).describe("Examples are truncated to this many tokens; batches pad only to their longest member. Never more than the model's positions: a longer value is clipped, with a warning."),
    warmup_steps: z.number().int().min(0).default(0).describe('Linear warmup steps from 0 to learning_rate.'),
    lr_scheduler: z.enum(['cosine', 'linear', 'constant']).default('cosine').describe('Decay after warmup, to 0 at max_steps (constant: none).'),
    weight_decay: z.number().min(0).default(0).describe('AdamW decoupled weight decay λ (applied as p ← p − lr·λ·p).'),
    max_grad_norm: z.number().min(0).default(1).describe('Global-norm gradient clipping threshold; 0 disables clipping.'),
    adam_beta1: z.number().min(0).lt(1).default(0.9).describe('AdamW first-moment decay.'),
    adam_beta2: z.number().min(0).lt(1).default(0.999).describe('AdamW second-moment decay.'),
    adam_epsilon: z.number().positive().default(1e-8).describe('AdamW denominator epsilon.'),
    loraplus_lr_ratio: z
      .number()
      .positive()
      .nullish()
      .describe('LoRA+ (Hayou et al. 2024): lora_B and the DoRA magnitude train at learning_rate × this ratio, lora_A at learning_rate (PEFT\'s create_loraplus_optimizer groups; its examples use 16). An optimizer option, so it lives here and not in the adapter. Unset: one learning rate for all.'),
  })
  .strict();

export const evalSchema = z
  .object({
    max_samples: z.number().int().positive().default(200).describe('Eval examples used for loss and generation (the first N of eval.jsonl).'),
    batch_size: z.number().int().positive().default(16).describe('Examples per eval forward pass.'),
    generate: z.boolean().default(true).describe('Also generate answers and score exact match and ROUGE-L.'),
    max_new_tokens: z.number().int().positive().default(32).describe('Generation length limit per example.'),
  })
  .strict();

/**
 * One training run, fully described: what identifies it (hashed for --resume) and nothing
 * about where it runs (backend, threads, output folder are runtime settings, kept apart).
 */
export const runConfigSchema = z
  .object({
    name: pathSegmentSchema().default('run').describe('Run name (unique within a suite); it names the run\'s folder, so it must be one folder name: no / \\ or :, and not ".." or ".".'),
    model: z.string().min(1).describe('Hugging Face model folder (config.json, model.safetensors, tokenizer.json), or a Hub id org/name[@revision] downloaded into the Hugging Face cache (HF_HUB_CACHE / HF_HOME) and pinned to its commit.'),
    dataset: z.string().min(1).describe('Prepared dataset folder (data/<name>, from prepare-dataset).'),
    seed: z.number().int().min(0).default(42).describe('Seeds LoRA init, data order and dropout.'),
    quantization: z.enum(QUANT_FORMATS).default('fp32').describe('Precision of the frozen base weights: fp32, int8 (per-channel absmax), nf4, nf4-dq (double-quantized scales), fp4.'),
    lora: loraConfigSchema.default(loraConfigSchema.parse({})),
    training: trainingSchema.default(trainingSchema.parse({})),
    eval: evalSchema.default(evalSchema.parse({})),
  })
  .strict();

export type RunConfig = z.infer<typeof runConfigSchema>;
export type RunConfigInput = z.input<typeof runConfigSchema>;

/** Where and how a run executes; never part of its identity. */
export interface RuntimeSettings {
  backend: BackendRequest;
  threads?: number;
  outputDir: string;
  dbPath?: string;
}
