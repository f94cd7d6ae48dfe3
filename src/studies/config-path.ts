/** Reads `obj.a.b.c` for the dotted path `a.b.c`; undefined when a level is missing. */
export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const k of path.split('.')) {
    if (typeof cur !== 'object' || cur === null || !Object.hasOwn(cur, k)) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/**
 * What a study varied in one run, as the tracker stores it: the path list joined with commas,
 * and the value (one path) or an object path → value (several paths). Null for no path.
 */
export function variedOf(config: unknown, paths: readonly string[]): { variedPath: string | null; variedValue: unknown } {
  if (paths.length === 0) return { variedPath: null, variedValue: null };
  if (paths.length === 1) return { variedPath: paths[0], variedValue: getPath(config, paths[0]) ?? null };
  return { variedPath: paths.join(','), variedValue: Object.fromEntries(paths.map((p) => [p, getPath(config, p) ?? null])) };
}
