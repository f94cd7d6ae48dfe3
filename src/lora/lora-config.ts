import { z } from 'zod';

/** `pissa_niter_16`: PiSSA with a randomized SVD of 16 subspace iterations (PEFT's spelling). */
const PISSA_NITER = /^pissa_niter_(\d+)$/;

/** PEFT's `init_lora_weights` values this project implements. */
export const initLoraWeightsSchema = z.union([
  z.boolean(),
  z.enum(['gaussian', 'pissa', 'olora']),
  z.string().regex(PISSA_NITER, 'expected true, false, "gaussian", "pissa", "pissa_niter_<N>" or "olora"'),
]);
export type InitLoraWeights = z.infer<typeof initLoraWeightsSchema>;

/** Inits that rewrite the frozen base weight (W ← W − scale·B₀A₀), so the saved adapter needs converting. */
export function mutatesBase(init: InitLoraWeights): boolean {
  return init === 'olora' || (typeof init === 'string' && init.startsWith('pissa'));
}

/** Subspace iterations of `pissa_niter_N`, or null for the other inits. */
export function pissaNiter(init: InitLoraWeights): number | null {
  const m = typeof init === 'string' ? PISSA_NITER.exec(init) : null;
  return m ? Number(m[1]) : null;
}

/**
 * LoRA options, named and defaulted as in PEFT's `LoraConfig` so that YAML written for PEFT
 * reads the same here. Each field's description is the one help text (CLI, README).
 */
export const loraConfigSchema = z
  .object({
    r: z.number().int().positive().default(8).describe('LoRA rank: rows of A and columns of B; trainable params per module = r·(in+out) (+ out with use_dora).'),
    lora_alpha: z.number().positive().default(8).describe('Scaling numerator: the update is (lora_alpha / r)·B·A (lora_alpha / √r with use_rslora).'),
    lora_dropout: z.number().min(0).max(1).lt(1).default(0).describe('Dropout probability on the LoRA input path during training (0 disables it).'),
    target_modules: z
      .union([z.array(z.string().min(1)).min(1), z.string().min(1)])
      .optional()
      .describe('Modules to adapt: a list of name suffixes ([q_proj, v_proj]), a regex matched against the full module name, or "all-linear" (every linear but the output head). Default: the architecture\'s PEFT default (q_proj+v_proj; c_attn for gpt2; q_proj+v_proj+fc1+fc2 for phi; phi3 has none, name them).'),
    use_rslora: z.boolean().default(false).describe('Rank-stabilised LoRA (Kalajdzievski 2023): scale alpha/√r instead of alpha/r.'),
    use_dora: z
      .boolean()
      .default(false)
      .describe('DoRA (Liu et al. 2024): W\' = m·(W + s·B·A)/‖W + s·B·A‖, the norm per output row (over the input dim) and detached from the gradient as in PEFT; m (lora_magnitude_vector, one value per output) is trained and starts at the row norms of W.'),
    init_lora_weights: initLoraWeightsSchema
      .default(true)
      .describe('true: A Kaiming-uniform, B zeros (PEFT default); false: A and B both random (not a no-op; for debugging); "gaussian": A ~ N(0, 1/r²), B zeros; "pissa": A, B from the top-r SVD of W and the base becomes the residual; "pissa_niter_<N>": the same with a randomized SVD of N subspace iterations; "olora": A, B from the QR of W, base residual. PiSSA/OLoRA adapters are saved converted to a plain LoRA of rank 2r against the original base (see README).'),
    rank_pattern: z
      .record(z.string().min(1), z.number().int().positive())
      .default({})
      .describe('Per-module ranks: {pattern: r}; a pattern (regex) matches a module whose full name ends in it at a dot boundary (PEFT\'s get_pattern_key); the first matching pattern wins, others keep r.'),
    alpha_pattern: z
      .record(z.string().min(1), z.number().positive())
      .default({})
      .describe('Per-module lora_alpha: {pattern: alpha}, matched like rank_pattern.'),
    layers_to_transform: z
      .union([z.number().int().min(0), z.array(z.number().int().min(0))])
      .nullish()
      .describe('Only adapt modules in these layer indices (one index or a list; an empty list means all); needs target_modules as a list (PEFT\'s rule).'),
    layers_pattern: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .nullish()
      .describe('Name of the layer list whose index layers_to_transform reads ("layers", "h"); default: the first numbered name part.'),
  })
  .strict()
  .superRefine((c, ctx) => {
    // PEFT's LoraConfig.__post_init__ checks, with its messages' meaning.
    if (typeof c.target_modules === 'string' && c.layers_to_transform != null) {
      ctx.addIssue({ code: 'custom', path: ['layers_to_transform'], message: 'cannot be used when target_modules is a string (a regex or "all-linear"); list the module suffixes instead' });
    }
    if (typeof c.target_modules === 'string' && c.layers_pattern != null) {
      ctx.addIssue({ code: 'custom', path: ['layers_pattern'], message: 'cannot be used when target_modules is a string; list the module suffixes instead' });
    }
    if (c.layers_pattern != null && c.layers_to_transform == null) {
      ctx.addIssue({ code: 'custom', path: ['layers_pattern'], message: 'needs layers_to_transform as well' });
    }
    for (const field of ['rank_pattern', 'alpha_pattern'] as const) {
      for (const key of Object.keys(c[field])) {
        try {
          new RegExp(key);
        } catch (err) {
          ctx.addIssue({ code: 'custom', path: [field, key], message: `not a valid regex (${(err as Error).message})` });
        }
      }
    }
  });

export type LoraConfig = z.infer<typeof loraConfigSchema>;

export function loraScale(cfg: { r: number; lora_alpha: number; use_rslora: boolean }): number {
  return cfg.use_rslora ? cfg.lora_alpha / Math.sqrt(cfg.r) : cfg.lora_alpha / cfg.r;
}

/**
 * PEFT's `get_pattern_key`: the first key such that `re.match(rf"(.*\.)?({key})$", name)`
 * matches; `re.match` anchors at the start, `$` at the end.
 */
export function patternKey(keys: readonly string[], name: string): string | undefined {
  return keys.find((k) => new RegExp(`^(?:.*\\.)?(?:${k})$`).test(name));
}

export interface ModuleLoraShape {
  r: number;
  alpha: number;
  scale: number;
}

/** Rank, alpha and scale of one module after rank_pattern / alpha_pattern (PEFT's _create_and_replace). */
export function moduleLoraShape(cfg: Pick<LoraConfig, 'r' | 'lora_alpha' | 'use_rslora' | 'rank_pattern' | 'alpha_pattern'>, name: string): ModuleLoraShape {
  const rk = patternKey(Object.keys(cfg.rank_pattern ?? {}), name);
  const ak = patternKey(Object.keys(cfg.alpha_pattern ?? {}), name);
  const r = rk !== undefined ? cfg.rank_pattern[rk] : cfg.r;
  const alpha = ak !== undefined ? cfg.alpha_pattern[ak] : cfg.lora_alpha;
  return { r, alpha, scale: loraScale({ r, lora_alpha: alpha, use_rslora: cfg.use_rslora }) };
}
