/**
 * Hub model download cost, against the loopback Hub of the tests (no network): a fresh download
 * of an LFS weights file (stream to `.incomplete` + sha256 verification + link into the
 * snapshot), a resumed one (half the file already on disk), and a cache hit.
 *   npx tsx scripts/bench-hub-download.ts [MiB=256]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, copyFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureHubModel } from '../src/model/hub/resolve-model.js';
import { startFakeHub } from '../tests/helpers/fake-hub.js';

const mib = Number(process.argv[2] ?? 256);
const weights = randomBytes(mib * 1024 * 1024);
const sha = 'e'.repeat(40);
const files = { 'config.json': '{"model_type":"llama"}', 'tokenizer.json': '{}', 'model.safetensors': weights };
const hub = await startFakeHub({ models: { 'bench/model': { commits: { [sha]: files }, refs: { main: sha } } } });
const ref = { repo: 'bench/model', revision: 'main' };
const time = async (label: string, cacheDir: string) => {
  const t0 = performance.now();
  await ensureHubModel(ref, { cacheDir, hubUrl: hub.url, offline: false, tty: false });
  const s = (performance.now() - t0) / 1000;
  console.log(`${label.padEnd(28)} ${s.toFixed(3)} s${label.startsWith('cache') ? '' : `  ${(mib / s).toFixed(0)} MiB/s of weights`}`);
};
try {
  const fresh = mkdtempSync(join(tmpdir(), 'bench-hub-'));
  await time(`fresh download, ${mib} MiB`, fresh);
  await time('cache hit (no request)', fresh);
  // Resume: the blob moved back to .incomplete and cut to half, the snapshot link removed.
  const blobs = join(fresh, 'models--bench--model', 'blobs');
  const big = readdirSync(blobs).find((b) => b.length === 64)!;
  copyFileSync(join(blobs, big), join(blobs, `${big}.incomplete`));
  truncateSync(join(blobs, `${big}.incomplete`), weights.length / 2);
  rmSync(join(blobs, big));
  rmSync(join(fresh, 'models--bench--model', 'snapshots', sha, 'model.safetensors'));
  await time('resumed from 50%', fresh);
  rmSync(fresh, { recursive: true, force: true });
} finally {
  await hub.close();
}
