import type { z } from 'zod';
import { LoraStudyError } from '../util/errors.js';

/** Formats a zod path as the user wrote it: `sweep.rank[2]`, `training.max_steps`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(top level)';
}

export class ConfigError extends LoraStudyError {
  constructor(readonly file: string, readonly issues: Array<{ path: string; message: string }>) {
    super(`invalid config ${file}:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`, {
      hint: 'fix the fields named above; the README\'s Configuration section lists every field with its type and default',
    });
  }
}

export function configErrorFrom(file: string, err: z.ZodError): ConfigError {
  return new ConfigError(
    file,
    err.issues.map((i) => {
      const keys = (i as { keys?: string[] }).keys;
      const message = i.code === 'unrecognized_keys' && keys ? `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}` : i.message;
      return { path: formatPath(i.path), message };
    }),
  );
}
