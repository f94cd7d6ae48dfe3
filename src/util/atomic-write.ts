import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describeWriteError } from './fs-errors.js';
import { assertReplaceableDir, type DirOwnership } from './owned-dir.js';
import { sweepStaleTemps, tempPathFor } from './stale-temps.js';


/**
 * Writes a file so that readers see either the old content or the whole new one, never a part.
 * Temps of killed writers found beside it are removed first (see stale-temps.ts).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  try {
    await writeFileAtomicRaw(path, data);
  } catch (err) {
    throw describeWriteError(err, path);
  }
}

async function writeFileAtomicRaw(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  sweepStaleTemps(dirname(path));
  const tmp = tempPathFor(path);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  try {
    writeFileAtomicSyncRaw(path, data);
  } catch (err) {
    throw describeWriteError(err, path);
  }
}

function writeFileAtomicSyncRaw(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  sweepStaleTemps(dirname(path));
  const tmp = tempPathFor(path);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Builds a whole folder under a temporary sibling name, then renames it into place, so a crash
 * never leaves a half-written folder (an adapter, a prepared dataset) that looks complete.
 * An existing folder at `dir` is replaced; with `ownership`, only when it is one the tool wrote
 * (checked before building and again just before the swap).
 */
export async function writeDirAtomic(dir: string, fill: (tmpDir: string) => Promise<void>, ownership?: DirOwnership): Promise<void> {
  try {
    await writeDirAtomicRaw(dir, fill, ownership);
  } catch (err) {
    throw describeWriteError(err, dir); // a read-only or full disk names the folder being written
  }
}

async function writeDirAtomicRaw(dir: string, fill: (tmpDir: string) => Promise<void>, ownership?: DirOwnership): Promise<void> {
  if (ownership) assertReplaceableDir(dir, ownership);
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  sweepStaleTemps(parent); // leftovers of writers killed before they could clean up
  const tmp = tempPathFor(dir);
  await mkdir(tmp, { recursive: true });
  try {
    await fill(tmp);
    if (ownership) assertReplaceableDir(dir, ownership);
    const old = `${tmp}.old`;
    let movedOld = false;
    try {
      await rename(dir, old);
      movedOld = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await rename(tmp, dir);
    if (movedOld) await rm(old, { recursive: true, force: true });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
