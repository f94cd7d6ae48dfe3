/**
 * Sets `obj[k1][k2]…[kn] = value`, creating (or replacing non-object) intermediate levels, so an
 * override like `training.max_steps` lands even where the YAML had no `training:` block.
 */
export function setPath(obj: Record<string, unknown>, keys: readonly string[], value: unknown): void {
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    if (typeof cur[k] !== 'object' || cur[k] === null || Array.isArray(cur[k])) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]] = value;
}
