/**
 * Models by Hub id (issue 13 item 6), against a real loopback Hub: downloads land in the
 * Hugging Face cache layout, Python's cache is reused with no request, partial downloads resume,
 * HF_HUB_OFFLINE is honoured, pickle-only repos are refused before their weights are fetched.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { HubModelNotCachedError, HubPickleOnlyError } from '../../src/model/hub/errors.js';
import { parseHubModelId } from '../../src/model/hub/model-id.js';
import { ensureHubModel, localModelDir, resolveModel } from '../../src/model/hub/resolve-model.js';
import { HubDownloadError } from '../../src/model/hub/blob-download.js';
import { loadModel } from '../../src/model/load-model.js';
import { useCpuBackend } from '../helpers/tf-setup.js';
import { writeTinyModel } from '../helpers/tiny-models.js';
import { blobEtag, startFakeHub, type FakeCommit, type FakeHub, type FakeHubOptions } from '../helpers/fake-hub.js';

const SHA1 = 'a'.repeat(40);
const SHA2 = 'b'.repeat(40);
let tiny: Record<string, Uint8Array>;
let hub: FakeHub | undefined;

beforeAll(async () => {
  await useCpuBackend();
  const dir = join(mkdtempSync(join(tmpdir(), 'hub-model-src-')), 'm');
  await writeTinyModel(dir, { modelType: 'llama', seed: 3 });
  tiny = Object.fromEntries(readdirSync(dir).map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))]));
});

afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

const cache = () => mkdtempSync(join(tmpdir(), 'hf-cache-'));
const repoDir = (c: string) => join(c, 'models--tiny-org--tiny-llama');

async function serve(opts: FakeHubOptions = {}, extra: Record<string, FakeCommit> = {}) {
  hub = await startFakeHub(
    { models: {
      'tiny-org/tiny-llama': { commits: { [SHA1]: tiny, [SHA2]: { ...tiny, 'generation_config.json': '{"do_sample":false}' } }, refs: { main: SHA2, v1: SHA1 } },
      ...Object.fromEntries(Object.entries(extra).map(([name, files]) => [name, { commits: { [SHA1]: files }, refs: { main: SHA1 } }])),
    } },
    opts,
  );
  return hub;
}

describe('Hub ids', () => {
  test('parse: org/name[@revision], hf: prefix; paths and malformed names are not ids', () => {
    expect(parseHubModelId('microsoft/phi-2')).toEqual({ repo: 'microsoft/phi-2', revision: 'main' });
    expect(parseHubModelId('hf:microsoft/phi-2@refs/pr/3')).toEqual({ repo: 'microsoft/phi-2', revision: 'refs/pr/3' });
    expect(parseHubModelId(`Qwen/Qwen2.5-0.5B@${SHA1}`)).toEqual({ repo: 'Qwen/Qwen2.5-0.5B', revision: SHA1 });
    for (const s of ['./models/x', '/abs/x', 'a/b/c', 'org--x/y', 'org/..', 'phi-2', 'org/x@']) expect(parseHubModelId(s), s).toBeNull();
    expect(parseHubModelId('tests')).toBeNull(); // an existing folder wins
  });
});

describe('download into the Hugging Face cache layout', () => {
  test('a fresh download: blobs by etag, relative snapshot links, refs/main, .no_exist; a loadable folder', async () => {
    const h = await serve();
    const c = cache();
    const r = await resolveModel('tiny-org/tiny-llama', { cacheDir: c, hubUrl: h.url, offline: false, tty: false });
    expect(r.spec).toBe(`tiny-org/tiny-llama@${SHA2}`);
    expect(r.hub?.sha).toBe(SHA2);
    expect(r.dir).toBe(join(repoDir(c), 'snapshots', SHA2));
    expect(readFileSync(join(repoDir(c), 'refs', 'main'), 'utf8')).toBe(SHA2);
    for (const [f, bytes] of Object.entries({ ...tiny, 'generation_config.json': new TextEncoder().encode('{"do_sample":false}') })) {
      const link = join(r.dir, f);
      expect(lstatSync(link).isSymbolicLink(), f).toBe(true);
      expect(readlinkSync(link)).toBe(`../../blobs/${blobEtag(f, bytes)}`);
      expect(new Uint8Array(readFileSync(link))).toEqual(bytes);
    }
    expect(existsSync(join(repoDir(c), '.no_exist', SHA2, 'special_tokens_map.json'))).toBe(true);
    const loaded = await loadModel(localModelDir(r.spec, { cacheDir: c }));
    expect(loaded.model.config.modelType).toBe('llama');
    loaded.model.dispose();
    // Resolved again: the cache answers, no request.
    const n = h.requests.length;
    await resolveModel('tiny-org/tiny-llama', { cacheDir: c, hubUrl: h.url, offline: false });
    expect(h.requests.length).toBe(n);
  });

  test("a cache Python's huggingface_hub filled is reused with zero requests", async () => {
    const h = await serve();
    const c = cache();
    const rd = repoDir(c);
    // Exactly as huggingface_hub lays it out: blobs/<etag>, refs/main, snapshots/<sha>/<file> → ../../blobs/<etag>.
    mkdirSync(join(rd, 'blobs'), { recursive: true });
    mkdirSync(join(rd, 'refs'), { recursive: true });
    mkdirSync(join(rd, 'snapshots', SHA2), { recursive: true });
    writeFileSync(join(rd, 'refs', 'main'), SHA2);
    for (const [f, bytes] of Object.entries(tiny)) {
      const etag = blobEtag(f, bytes);
      writeFileSync(join(rd, 'blobs', etag), bytes);
      symlinkSync(`../../blobs/${etag}`, join(rd, 'snapshots', SHA2, f));
    }
    const r = await resolveModel('tiny-org/tiny-llama', { cacheDir: c, hubUrl: h.url, offline: false });
    expect(r.hub).toMatchObject({ sha: SHA2, fromCache: true });
    expect(h.requests).toEqual([]);
  });

  test('an interrupted download is resumed with a Range request and verified', async () => {
    const h = await serve({ interrupt: { file: 'model.safetensors', afterBytes: 1000 } });
    const c = cache();
    await expect(ensureHubModel({ repo: 'tiny-org/tiny-llama', revision: 'main' }, { cacheDir: c, hubUrl: h.url, offline: false })).rejects.toThrow();
    const blobs = readdirSync(join(repoDir(c), 'blobs'));
    const partial = blobs.find((b) => b.endsWith('.incomplete'))!;
    const kept = statSync(join(repoDir(c), 'blobs', partial)).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(1000);
    const r = await ensureHubModel({ repo: 'tiny-org/tiny-llama', revision: 'main' }, { cacheDir: c, hubUrl: h.url, offline: false });
    // The Range header survives the redirect to the LFS blob store: only the rest is sent.
    expect(h.requests.filter((q) => q.path.startsWith('/lfs/')).map((q) => q.range)).toEqual([undefined, `bytes=${kept}-`]);
    expect(new Uint8Array(readFileSync(join(r.dir, 'model.safetensors')))).toEqual(tiny['model.safetensors']);
    expect(readdirSync(join(repoDir(c), 'blobs')).some((b) => b.endsWith('.incomplete'))).toBe(false);
  });

  test('a corrupted transfer fails verification and leaves no blob', async () => {
    const bad = new Uint8Array(tiny['model.safetensors'].length).fill(7);
    const h = await serve({ corrupt: { file: 'model.safetensors', bytes: bad } });
    const c = cache();
    await expect(ensureHubModel({ repo: 'tiny-org/tiny-llama', revision: 'main' }, { cacheDir: c, hubUrl: h.url, offline: false })).rejects.toThrow(HubDownloadError);
    expect(readdirSync(join(repoDir(c), 'blobs')).filter((b) => b.length === 64)).toEqual([]);
  });

  test('HF_HUB_OFFLINE: cache only, and an error naming the repo and revision', async () => {
    const h = await serve();
    const c = cache();
    vi.stubEnv('HF_HUB_OFFLINE', '1');
    try {
      const err = await ensureHubModel({ repo: 'tiny-org/tiny-llama', revision: 'v1' }, { cacheDir: c, hubUrl: h.url }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HubModelNotCachedError);
      expect((err as Error).message).toMatch(/tiny-org\/tiny-llama at revision "v1".*HF_HUB_OFFLINE=1/);
      expect(h.requests).toEqual([]);
      await ensureHubModel({ repo: 'tiny-org/tiny-llama', revision: 'v1' }, { cacheDir: c, hubUrl: h.url, offline: false });
      const n = h.requests.length;
      expect((await ensureHubModel({ repo: 'tiny-org/tiny-llama', revision: 'v1' }, { cacheDir: c, hubUrl: h.url })).sha).toBe(SHA1);
      expect(h.requests.length).toBe(n);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  test('a repo with only pickle .bin weights is refused before they are downloaded', async () => {
    const { 'model.safetensors': _w, ...rest } = tiny;
    const h = await serve({}, { 'tiny-org/pickled': { ...rest, 'pytorch_model.bin': new Uint8Array(64) } });
    const err = await ensureHubModel({ repo: 'tiny-org/pickled', revision: 'main' }, { cacheDir: cache(), hubUrl: h.url, offline: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubPickleOnlyError);
    expect((err as Error).message).toMatch(/pytorch_model\.bin/);
    expect(h.requests.filter((q) => q.path.includes('/resolve/') || q.path.startsWith('/lfs/'))).toEqual([]);
  });

  test("parts: 'tokenizer' fetches config and tokenizer files, no weights; the full model later fetches only the rest", async () => {
    const h = await serve();
    const c = cache();
    const tok = await resolveModel('tiny-org/tiny-llama', { cacheDir: c, hubUrl: h.url, offline: false, parts: 'tokenizer' });
    expect(readdirSync(tok.dir).sort()).toEqual(['config.json', 'tokenizer.json', 'tokenizer_config.json']);
    expect(h.requests.some((q) => q.path.endsWith('.safetensors') || q.path.startsWith('/lfs/'))).toBe(false);
    const n = h.requests.length;
    const full = await resolveModel('tiny-org/tiny-llama', { cacheDir: c, hubUrl: h.url, offline: false });
    expect(full.dir).toBe(tok.dir);
    const gets = h.requests.slice(n).filter((q) => q.method === 'GET' && !q.path.startsWith('/api/')).map((q) => q.path.split('/').pop());
    // model.safetensors is an LFS file: its GET is redirected to the blob store (/lfs/<sha256>).
    expect(gets.sort()).toEqual([blobEtag('model.safetensors', tiny['model.safetensors']), 'generation_config.json', 'model.safetensors']);
  });

  test('a download lock held by a live process is waited for; one left by a dead process is taken over', async () => {
    const h = await serve();
    const c = cache();
    const etag = blobEtag('model.safetensors', tiny['model.safetensors']);
    const lock = join(c, '.locks', 'models--tiny-org--tiny-llama', `${etag}.lora-study.lock`);
    mkdirSync(join(lock, '..'), { recursive: true });
    writeFileSync(lock, JSON.stringify({ host: hostname(), pid: process.pid }));
    const t0 = performance.now();
    setTimeout(() => rmSync(lock), 400);
    await ensureHubModel({ repo: 'tiny-org/tiny-llama', revision: 'main' }, { cacheDir: c, hubUrl: h.url, offline: false });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(350);
    expect(existsSync(lock)).toBe(false);
    // A dead holder (a child that exited) on this host: taken over at once.
    const c2 = cache();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    const lock2 = join(c2, '.locks', 'models--tiny-org--tiny-llama', `${etag}.lora-study.lock`);
    mkdirSync(join(lock2, '..'), { recursive: true });
    writeFileSync(lock2, JSON.stringify({ host: hostname(), pid: Number(dead) }));
    const r = await ensureHubModel({ repo: 'tiny-org/tiny-llama', revision: 'main' }, { cacheDir: c2, hubUrl: h.url, offline: false });
    expect(new Uint8Array(readFileSync(join(r.dir, 'model.safetensors')))).toEqual(tiny['model.safetensors']);
  });

  test('a revision pin: a tag and a commit sha resolve to that commit; the tag is recorded in refs/', async () => {
    const h = await serve();
    const c = cache();
    const tag = await resolveModel('tiny-org/tiny-llama@v1', { cacheDir: c, hubUrl: h.url, offline: false });
    expect(tag.spec).toBe(`tiny-org/tiny-llama@${SHA1}`);
    expect(readFileSync(join(repoDir(c), 'refs', 'v1'), 'utf8')).toBe(SHA1);
    expect(existsSync(join(tag.dir, 'generation_config.json'))).toBe(false); // absent at that commit
    const n = h.requests.length;
    const pinned = await resolveModel(`tiny-org/tiny-llama@${SHA1}`, { cacheDir: c, hubUrl: h.url, offline: false });
    expect(pinned.dir).toBe(tag.dir);
    expect(h.requests.length).toBe(n); // the blobs are shared, the snapshot complete: no request
  });
});
