import { z } from 'zod';
import { STUDY_TYPES } from '../studies/registry.js';
import { pathSegmentSchema } from '../util/path-segment.js';

/**
 * Short names a sweep may use for run-config fields; any dotted path of the run config
 * (`training.learning_rate`) works too.
 */
export const SWEEP_ALIASES: Record<string, string> = {
  rank: 'lora.r',
  r: 'lora.r',
  alpha: 'lora.lora_alpha',
  lora_alpha: 'lora.lora_alpha',
  dropout: 'lora.lora_dropout',
  target_modules: 'lora.target_modules',
  use_rslora: 'lora.use_rslora',
  use_dora: 'lora.use_dora',
  init_lora_weights: 'lora.init_lora_weights',
  loraplus_lr_ratio: 'training.loraplus_lr_ratio',
  quantization: 'quantization',
  learning_rate: 'training.learning_rate',
  lr: 'training.learning_rate',
  max_steps: 'training.max_steps',
  batch_size: 'training.batch_size',
};

/** How to build the dataset when `base.dataset` does not exist yet (prepare-dataset options). */
export const prepareSpecSchema = z
  .object({
    source: z.string().min(1).describe('Dataset source: builtin:<task>, hf:<repo>[:<split>], alpaca, or a file.'),
    template: z.string().default('plain').describe('Prompt template: plain, alpaca, chatml, model.'),
    num_samples: z.number().int().positive().optional().describe('Rows to keep (train + eval).'),
    eval_samples: z.number().int().positive().optional().describe('Rows held out for eval.'),
    max_seq_len: z.number().int().positive().optional().describe("Longest example in tokens (default 512, clipped to the model's positions)."),
    seed: z.number().int().min(0).optional().describe('Seed of sampling and split.'),
  })
  .strict();

export const suiteConfigSchema = z
  .object({
    name: pathSegmentSchema().describe('Suite name (one folder name, as for a run name); run names are <suite>-<variant>-s<seed>.'),
    type: z
      .enum(STUDY_TYPES, { error: (iss) => `unknown study type ${JSON.stringify(iss.input)}: use one of ${STUDY_TYPES.join(', ')}` })
      .describe(`The study (src/studies): ${STUDY_TYPES.join(', ')}.`),
    description: z.string().optional().describe('Free text shown in the report.'),
    base: z.record(z.string(), z.unknown()).describe('The run config every variant starts from (same fields as run-single).'),
    sweep: z
      .record(z.string(), z.array(z.unknown()).min(1, 'needs at least one value'))
      .optional()
      .describe('Grid: every combination of these fields\' values is one variant.'),
    variants: z
      .array(z.record(z.string(), z.unknown()))
      .min(1)
      .optional()
      .describe('Explicit list of variants: each is {name?, <field>: value, ...}.'),
    seeds: z.array(z.number().int().min(0)).min(1).default([42]).describe('Every variant runs once per seed.'),
    prepare: prepareSpecSchema.optional(),
  })
  .strict()
  .refine((s) => !(s.sweep && s.variants), { message: 'give either sweep (a grid) or variants (a list), not both', path: ['variants'] });

export type SuiteConfig = z.infer<typeof suiteConfigSchema>;
export type PrepareSpec = z.infer<typeof prepareSpecSchema>;
