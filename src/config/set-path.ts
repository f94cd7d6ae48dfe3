import { LoraStudyError } from '../util/errors.js';

/** Keys that would reach an object's prototype instead of a config field. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Why a dotted config path cannot be set, or null when it can. */
export function configPathProblem(keys: readonly string[]): string | null {
  if (keys.length === 0 || keys.some((k) => k === '')) return `"${keys.join('.')}" has an empty part`;
  const bad = keys.find((k) => FORBIDDEN_KEYS.has(k));
  return bad === undefined ? null : `"${keys.join('.')}" uses "${bad}", which is not a config field (it would reach JavaScript's object prototype)`;
}

/**
 * Sets `obj[k1][k2]…[kn] = value`, creating (or replacing non-object) intermediate levels, so an
 * override like `training.max_steps` lands even where the YAML had no `training:` block.
 * Refuses `__proto__`, `constructor` and `prototype` anywhere in the path.
 */
export function setPath(obj: Record<string, unknown>, keys: readonly string[], value: unknown): void {
  const problem = configPathProblem(keys);
  if (problem) throw new LoraStudyError(`config path ${problem}`, { hint: 'use the field names of the configuration tables in the README' });
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    if (!Object.hasOwn(cur, k) || typeof cur[k] !== 'object' || cur[k] === null || Array.isArray(cur[k])) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]] = value;
}
