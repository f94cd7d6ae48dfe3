import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { LoraStudyError } from './errors.js';

/**
 * What makes an existing folder one lora-study may replace: it holds `marker` (a prepared
 * dataset's meta.json, a merged model's lora-study-merge.json, an adapter's adapter_config.json).
 */
export interface DirOwnership {
  /** A file only lora-study's writer of this kind puts in the folder. */
  marker: string;
  /** What the folder holds, for messages: "prepared dataset", "merged model". */
  what: string;
  /** Replace a non-empty folder that is not ours (the user said --overwrite). */
  overwrite?: boolean;
}

export class FolderNotOursError extends LoraStudyError {
  constructor(readonly dir: string, o: DirOwnership, reason: string) {
    super(`refusing to replace ${dir}: ${reason}`, {
      hint: `lora-study only replaces a ${o.what} folder it wrote (one with ${o.marker}); choose another output folder, or pass --overwrite to delete ${dir} and write the ${o.what} there`,
    });
  }
}

/**
 * Throws unless writing a new folder at `dir` loses nothing the tool did not write: `dir` is
 * absent, empty, holds `o.marker`, or `o.overwrite` is set (a file in its place is refused
 * even then).
 */
export function assertReplaceableDir(dir: string, o: DirOwnership): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new FolderNotOursError(dir, { ...o, overwrite: false }, 'it is a file, not a folder');
  if (readdirSync(dir).length === 0 || existsSync(resolve(dir, o.marker)) || o.overwrite) return;
  throw new FolderNotOursError(dir, o, `it exists, is not empty and has no ${o.marker}, so it is not a ${o.what} lora-study wrote`);
}

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** Whether `inner` is `outer` or inside it (after resolving symlinks). */
export function isSameOrInside(inner: string, outer: string): boolean {
  const rel = relative(real(outer), real(inner));
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep) && !/^[A-Za-z]:/.test(rel));
}

/**
 * Refuses an output folder that is one of the command's inputs or a folder above one: replacing
 * it would delete the input (e.g. `merge -o` onto the base model's own folder). Holds with
 * --overwrite too.
 */
export function assertNotOverInputs(outDir: string, outFlag: string, inputs: ReadonlyArray<{ flag: string; path: string }>): void {
  for (const input of inputs) {
    if (!existsSync(input.path)) continue;
    if (isSameOrInside(input.path, outDir)) {
      const same = real(input.path) === real(outDir);
      throw new LoraStudyError(
        `${outFlag} ${outDir} ${same ? 'is' : 'contains'} the ${input.flag} input ${input.path}: writing there would delete it`,
        { hint: `choose an output folder outside ${input.path}` },
      );
    }
  }
}
