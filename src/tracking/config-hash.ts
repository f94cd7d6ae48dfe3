import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level, so that two configs equal as values hash equal
 * whatever order their keys were written in. `undefined` members are dropped, as JSON.stringify
 * drops them.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v as object).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}

/**
 * What identifies a run for `--resume`: sha256 (hex) of the canonical JSON of its fully resolved
 * config. The caller must leave runtime-only settings (backend, paths, threads) out of `config`.
 */
export function hashConfig(config: unknown): string {
  return createHash('sha256').update(canonicalJson(config ?? null)).digest('hex');
}
