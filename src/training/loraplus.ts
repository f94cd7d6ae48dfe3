import type { LoraParamKind } from '../lora/inject.js';

/**
 * LoRA+ parameter groups as PEFT's `create_loraplus_optimizer` forms them: parameters named
 * lora_B and every 1-D parameter (the DoRA magnitude) step at lr × ratio, the rest (lora_A) at lr.
 * Returns one learning-rate multiplier per parameter; all 1 when the ratio is unset.
 */
export function loraPlusLrScales(kinds: readonly LoraParamKind[], ratio: number | null | undefined): number[] {
  return kinds.map((k) => (ratio != null && (k === 'lora_B' || k === 'lora_magnitude_vector') ? ratio : 1));
}
