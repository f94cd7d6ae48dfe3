import { z } from 'zod';
import { LoraStudyError } from './errors.js';

/**
 * The one rule for every name that becomes a folder or file name (run names, suite names,
 * dataset names, Hub owner/repo/revision parts, files a Hub server lists): a single path
 * segment that stays inside its parent folder.
 */
export const PATH_SEGMENT_RULE =
  'one folder name: 1–200 characters, not "." or "..", without / \\ : or control characters (NUL included)';

const MAX_SEGMENT_CHARS = 200;

/** Why `s` is not a safe path segment, or null when it is. */
export function pathSegmentProblem(s: string): string | null {
  if (s.length === 0) return 'is empty';
  if (s.length > MAX_SEGMENT_CHARS) return `is ${s.length} characters long (at most ${MAX_SEGMENT_CHARS})`;
  if (s === '.' || s === '..') return `is "${s}", which names a folder, not a new one inside it`;
  // eslint-disable-next-line no-control-regex
  const bad = /[/\\:\u0000-\u001f\u007f]/.exec(s);
  if (bad) {
    const c = bad[0];
    const shown = c === '/' || c === '\\' || c === ':' ? `"${c}"` : `control character U+${c.charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}`;
    return `contains ${shown}`;
  }
  return null;
}

/** A zod string that must be one safe path segment (the shared refinement). */
export function pathSegmentSchema(): z.ZodString {
  return z.string().superRefine((s, ctx) => {
    const problem = pathSegmentProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(s)} ${problem}; a name must be ${PATH_SEGMENT_RULE}` });
  });
}

export class UnsafeNameError extends LoraStudyError {
  constructor(readonly what: string, readonly value: string, problem: string) {
    super(`${what} ${JSON.stringify(value)} ${problem}`, { hint: `it becomes a folder name, so it must be ${PATH_SEGMENT_RULE}` });
  }
}

/** Returns `value` when it is one safe path segment, else throws an UnsafeNameError naming `what`. */
export function assertPathSegment(value: string, what: string): string {
  const problem = pathSegmentProblem(value);
  if (problem) throw new UnsafeNameError(what, value, problem);
  return value;
}

/** Checks every `/`-separated part of a relative path (e.g. a file a Hub server lists). */
export function assertRelativePath(value: string, what: string): string {
  for (const part of value.split('/')) {
    const problem = pathSegmentProblem(part);
    if (problem) throw new UnsafeNameError(what, value, `has a part that ${problem}`);
  }
  return value;
}
