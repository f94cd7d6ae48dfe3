import { z } from 'zod';

/**
 * LoRA options, named and defaulted as in PEFT's `LoraConfig` so that YAML written for PEFT
 * reads the same here. Each field's description is the one help text (CLI, README).
 */
export const loraConfigSchema = z
  .object({
    r: z.number().int().positive().default(8).describe('LoRA rank: rows of A and columns of B; trainable params per module = r·(in+out).'),
    lora_alpha: z.number().positive().default(8).describe('Scaling numerator: the update is (lora_alpha / r)·B·A (lora_alpha / √r with use_rslora).'),
    lora_dropout: z.number().min(0).max(1).lt(1).default(0).describe('Dropout probability on the LoRA input path during training (0 disables it).'),
    target_modules: z
      .union([z.array(z.string().min(1)).min(1), z.string().min(1)])
      .optional()
      .describe('Modules to adapt: a list of name suffixes ([q_proj, v_proj]), a regex matched against the full module name, or "all-linear" (every linear but the output head). Default: the architecture\'s PEFT default (q_proj+v_proj; c_attn for gpt2; q_proj+v_proj+fc1+fc2 for phi; phi3 has none, name them).'),
    use_rslora: z.boolean().default(false).describe('Rank-stabilised LoRA (Kalajdzievski 2023): scale alpha/√r instead of alpha/r.'),
    init_lora_weights: z
      .union([z.literal(true), z.literal('gaussian')])
      .default(true)
      .describe('true: A Kaiming-uniform (PEFT default), B zeros; "gaussian": A ~ N(0, 1/r), B zeros.'),
  })
  .strict();

export type LoraConfig = z.infer<typeof loraConfigSchema>;

export function loraScale(cfg: Pick<LoraConfig, 'r' | 'lora_alpha' | 'use_rslora'>): number {
  return cfg.use_rslora ? cfg.lora_alpha / Math.sqrt(cfg.r) : cfg.lora_alpha / cfg.r;
}
