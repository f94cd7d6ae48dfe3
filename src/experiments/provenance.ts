import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function versionOf(pkg: string): string | null {
  try {
    return (JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

const PACKAGES = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'];

/** Versions that decide a run's numbers: lora-study, node and the tfjs packages present. */
export function packageVersions(): Record<string, string> {
  const out: Record<string, string> = { node: process.version };
  const own = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string };
  out['lora-study'] = own.version;
  for (const p of PACKAGES) {
    const v = versionOf(p);
    if (v) out[p] = v;
  }
  return out;
}

let commit: string | null | undefined;

/** The lora-study checkout's commit (with `-dirty` when it has local changes), or null outside git. */
export function gitCommit(): string | null {
  if (commit !== undefined) return commit;
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: projectRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: projectRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    commit = dirty ? `${head}-dirty` : head;
  } catch {
    commit = null;
  }
  return commit;
}
