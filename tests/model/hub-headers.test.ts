/**
 * A dry-run checks a Hub model's config.json against the safetensors headers of its weight
 * files, fetched with HTTP Range requests from a real loopback Hub (never the weights), cached by
 * commit so a second plan makes no request; a failure to read them is a note, not a failed plan.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { checkCheckpointShapes } from '../../src/model/checkpoint-shapes.js';
import { parseModelConfig } from '../../src/model/config.js';
import { headerCachePath, HEADER_PROBE_BYTES } from '../../src/model/hub/hub-safetensors-headers.js';
import { hubHeaderCheck, hubPlanNotes, prefetchSafetensorsHeaders } from '../../src/model/hub/hub-plan.js';
import { prefetchModelConfigs } from '../../src/model/hub/resolve-model.js';
import { runInProcess } from '../helpers/cli-in-process.js';
import { startFakeHub, type FakeCommit, type FakeHub, type FakeHubOptions } from '../helpers/fake-hub.js';
import { writeTinyModel } from '../helpers/tiny-models.js';

const SHA = 'd'.repeat(40);
const REPO = 'tiny-org/tiny-llama';
let single: FakeCommit;
let sharded: FakeCommit;
let hub: FakeHub | undefined;

const read = (dir: string): FakeCommit => Object.fromEntries(readdirSync(dir).map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))]));

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'hub-headers-src-'));
  await writeTinyModel(join(root, 'one'), { modelType: 'llama', seed: 3 });
  await writeTinyModel(join(root, 'shards'), { modelType: 'llama', seed: 3, shardBytes: 20_000 });
  single = read(join(root, 'one'));
  sharded = read(join(root, 'shards'));
});

afterEach(async () => {
  await hub?.close();
  hub = undefined;
  vi.unstubAllEnvs();
  process.exitCode = 0;
});

async function serve(files: FakeCommit, opts: FakeHubOptions = {}, token?: string) {
  hub = await startFakeHub({ models: { [REPO]: { commits: { [SHA]: files }, refs: { main: SHA }, token } } }, opts);
  const cacheDir = mkdtempSync(join(tmpdir(), 'hf-cache-'));
  return { hub, o: { cacheDir, hubUrl: hub.url } };
}

/** What a dry-run does before planning: config.json, then the headers. */
async function prepare(o: { cacheDir: string; hubUrl: string; offline?: boolean; accessToken?: string }) {
  expect(await prefetchModelConfigs([REPO], o)).toEqual(new Map());
  return prefetchSafetensorsHeaders([REPO], o);
}

const weightGets = (h: FakeHub) => h.requests.filter((r) => r.method === 'GET' && (r.path.startsWith('/lfs/') || r.path.endsWith('.safetensors')));
const configOf = (files: FakeCommit) => parseModelConfig(JSON.parse(Buffer.from(files['config.json']).toString('utf8')), 'config.json');

describe('safetensors headers over HTTP Range', () => {
  test('one file: one Range request, no weight body, cached by commit; the second plan makes no request', async () => {
    const { hub: h, o } = await serve(single);
    const n0 = h.requests.length;
    const out = await prepare(o);
    expect(out.get(REPO)).toMatchObject({ ok: true, files: 1, fromCache: false, rangeIgnored: [] });
    const gets = weightGets(h);
    // The Hub's resolve URL (302 to its CDN) and the CDN, both asked for the first 64 KiB only.
    expect(gets.map((r) => [r.path.replace(/[0-9a-f]{64}/, '<sha256>'), r.range, r.status])).toEqual([
      [`/${REPO}/resolve/${SHA}/model.safetensors`, `bytes=0-${HEADER_PROBE_BYTES - 1}`, 302],
      ['/lfs/<sha256>', `bytes=0-${HEADER_PROBE_BYTES - 1}`, 206],
    ]);
    const size = single['model.safetensors'].length;
    expect(size).toBeGreaterThan(HEADER_PROBE_BYTES); // so a 206 of 64 KiB is not the whole file
    const o1 = out.get(REPO);
    expect(o1?.ok && o1.bytes).toBe(HEADER_PROBE_BYTES);
    expect(existsSync(headerCachePath(o.cacheDir, REPO, SHA))).toBe(true);
    expect(hubPlanNotes([REPO], { cacheDir: o.cacheDir, headers: out })).toEqual([
      `${REPO}@${SHA.slice(0, 12)}: config.json checked against the safetensors headers of its weight file (fetched with 1 HTTP Range request, 64.0 KiB); the weights are not in the cache and a dry-run does not download them`,
    ]);
    const check = hubHeaderCheck(REPO, o)!;
    const shapes = checkCheckpointShapes(check.label, configOf(single), check.files, check.read);
    expect(shapes.tensors.get('model.embed_tokens.weight')?.shape).toEqual([configOf(single).vocabSize, configOf(single).hiddenSize]);

    const n1 = h.requests.length;
    expect(n1).toBeGreaterThan(n0);
    const again = await prepare(o);
    expect(h.requests.length).toBe(n1); // config.json and the headers both from the cache
    expect(again.get(REPO)).toMatchObject({ ok: true, fromCache: true, requests: 0 });
    expect(hubPlanNotes([REPO], { cacheDir: o.cacheDir, headers: again })[0]).toMatch(/read from the header cache, no request/);
  });

  test('a header longer than the first 64 KiB: a second Range request for the rest, nothing more', async () => {
    const body = Buffer.from(single['model.safetensors']);
    const n = Number(body.readBigUInt64LE(0));
    const json = JSON.parse(body.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
    json.__metadata__ = { format: 'pt', pad: 'x'.repeat(100_000) };
    const header = Buffer.from(JSON.stringify(json));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    const { hub: h, o } = await serve({ ...single, 'model.safetensors': Buffer.concat([len, header, body.subarray(8 + n)]) });
    const out = await prepare(o);
    expect(out.get(REPO)).toMatchObject({ ok: true, requests: 2 });
    expect(weightGets(h).filter((r) => r.path.startsWith('/lfs/')).map((r) => r.range)).toEqual([`bytes=0-${HEADER_PROBE_BYTES - 1}`, `bytes=${HEADER_PROBE_BYTES}-${8 + header.length - 1}`]);
  });

  test('a sharded model: the index, then each shard header by Range', async () => {
    const shards = Object.keys(sharded).filter((f) => f.endsWith('.safetensors')).sort();
    expect(shards.length).toBeGreaterThan(1);
    const { hub: h, o } = await serve(sharded);
    const out = await prepare(o);
    expect(out.get(REPO)).toMatchObject({ ok: true, files: shards.length });
    const resolved = h.requests.filter((r) => r.method === 'GET' && r.path.includes('/resolve/')).map((r) => r.path.split('/').pop());
    expect(resolved).toEqual(['config.json', 'model.safetensors', 'model.safetensors.index.json', ...shards]);
    expect(weightGets(h).every((r) => r.range?.startsWith('bytes='))).toBe(true);
    const check = hubHeaderCheck(REPO, o)!;
    expect(check.files).toEqual(shards);
    expect(() => checkCheckpointShapes(check.label, configOf(sharded), check.files, check.read)).not.toThrow();
  });

  test('config.json that disagrees with the headers: the plan names the tensor and the shard', async () => {
    const cfg = JSON.parse(Buffer.from(sharded['config.json']).toString('utf8')) as Record<string, number>;
    const wrong = { ...cfg, intermediate_size: cfg.intermediate_size * 2 };
    const { o } = await serve({ ...sharded, 'config.json': JSON.stringify(wrong) });
    await prepare(o);
    const check = hubHeaderCheck(REPO, o)!;
    const index = JSON.parse(Buffer.from(sharded['model.safetensors.index.json']).toString('utf8')) as { weight_map: Record<string, string> };
    const shard = index.weight_map['model.layers.0.mlp.gate_proj.weight'];
    expect(() => checkCheckpointShapes(check.label, parseModelConfig(wrong, 'config.json'), check.files, check.read)).toThrow(
      `model ${REPO}@${SHA.slice(0, 12)} (safetensors headers read from the Hub): config.json does not describe its weights: model.layers.0.mlp.gate_proj.weight is [${wrong.intermediate_size},${cfg.hidden_size}] by config.json but [${cfg.intermediate_size},${cfg.hidden_size}] in ${shard}`,
    );
  });

  test('a server that ignores Range (200, whole body): the header is read and the response closed early', async () => {
    const padded = Buffer.concat([Buffer.from(single['model.safetensors']), Buffer.alloc(64 * 2 ** 20)]); // trailing bytes: a 64 MiB file
    const { hub: h, o } = await serve({ ...single, 'model.safetensors': padded }, { ignoreRange: true });
    const out = await prepare(o);
    const r = out.get(REPO);
    expect(r).toMatchObject({ ok: true, rangeIgnored: ['model.safetensors'] });
    expect(r?.ok && r.bytes).toBeLessThan(4 * 2 ** 20);
    await new Promise((res) => setTimeout(res, 200));
    const cdn = weightGets(h).filter((q) => q.path.startsWith('/lfs/'));
    expect(cdn.map((q) => [q.status, q.complete])).toEqual([[200, false]]); // closed before the end
    expect(cdn[0].bodyBytes).toBeLessThan(padded.length / 4); // the server stopped sending
    expect(hubPlanNotes([REPO], { cacheDir: o.cacheDir, headers: out })[0]).toMatch(/the server ignored Range for model\.safetensors, so its response was closed after the header/);
  });

  test('private repo without a token, and offline: a note saying why, not a failure', async () => {
    const { hub: h, o } = await serve(single, {}, 'hf_secret');
    // config.json with the token; the headers without it (as when a token reaches one request only)
    expect(await prefetchModelConfigs([REPO], { ...o, accessToken: 'hf_secret' })).toEqual(new Map());
    const denied = await prefetchSafetensorsHeaders([REPO], { ...o, accessToken: '' });
    expect(denied.get(REPO)).toEqual({ ok: false, why: expect.stringMatching(/HTTP 401 from .*model\.safetensors — set HF_TOKEN/) });
    expect(hubHeaderCheck(REPO, o)).toBeNull();
    expect(hubPlanNotes([REPO], { cacheDir: o.cacheDir, headers: denied })[0]).toMatch(/planned from config\.json alone: its safetensors headers were not read \(reading the safetensors header of tiny-org\/tiny-llama\/model\.safetensors: HTTP 401/);
    const n = h.requests.length;
    const offline = await prefetchSafetensorsHeaders([REPO], { ...o, offline: true });
    expect(h.requests.length).toBe(n);
    expect(offline.get(REPO)).toEqual({ ok: false, why: expect.stringMatching(/HF_HUB_OFFLINE=1 forbids requests/) });
    const down = await prefetchSafetensorsHeaders([REPO], { ...o, hubUrl: 'http://127.0.0.1:9' });
    expect(down.get(REPO)).toEqual({ ok: false, why: expect.stringMatching(/could not reach the Hub at http:\/\/127\.0\.0\.1:9/) });
  });
});

describe('run-suite --dry-run on a Hub id', () => {
  const suite = (root: string) => {
    const file = join(root, 'hub.yaml');
    writeFileSync(file, stringify({
      name: 'hub', type: 'rank',
      base: { model: REPO, dataset: join(root, 'data'), lora: { target_modules: ['q_proj', 'v_proj'] }, training: { batch_size: 2, max_seq_len: 64 } },
      sweep: { rank: [4] },
      prepare: { source: 'builtin:format', template: 'plain' },
    }));
    return file;
  };

  test('checks config.json against the headers; a mismatch fails the row with the tensor and file named', async () => {
    const root = mkdtempSync(join(tmpdir(), 'hub-dry-'));
    const { o } = await serve(single);
    vi.stubEnv('HF_HUB_CACHE', o.cacheDir);
    vi.stubEnv('HF_ENDPOINT', o.hubUrl);
    vi.stubEnv('HF_HUB_OFFLINE', '');
    const r = await runInProcess(['run-suite', suite(root), '--dry-run', '--backend', 'wasm', '--threads', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`note: ${REPO}@${SHA.slice(0, 12)}: config.json checked against the safetensors headers of its weight file (fetched with 1 HTTP Range request, 64.0 KiB)`);
    await hub!.close();

    const cfg = JSON.parse(Buffer.from(single['config.json']).toString('utf8')) as Record<string, number>;
    const { o: o2 } = await serve({ ...single, 'config.json': JSON.stringify({ ...cfg, vocab_size: cfg.vocab_size + 1 }) });
    vi.stubEnv('HF_HUB_CACHE', o2.cacheDir);
    vi.stubEnv('HF_ENDPOINT', o2.hubUrl);
    const bad = await runInProcess(['run-suite', suite(root), '--dry-run', '--backend', 'wasm', '--threads', '1', '--json']);
    expect(bad.code).toBe(1);
    const doc = JSON.parse(bad.stdout) as { runs: Array<{ ok: boolean; error?: string }> };
    expect(doc.runs[0].error).toMatch(new RegExp(`config\\.json does not describe its weights: model\\.embed_tokens\\.weight is \\[${cfg.vocab_size + 1},${cfg.hidden_size}\\] by config\\.json but \\[${cfg.vocab_size},${cfg.hidden_size}\\] in model\\.safetensors`));
  });
});
