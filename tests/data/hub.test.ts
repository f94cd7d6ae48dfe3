import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { fetchHubDataset, HubRepoNotFoundError, HubSplitNotFoundError, HubUnreachableError, selectSplitFiles } from '../../src/data/hub.js';
import { prepareDataset } from '../../src/data/prepare.js';
import { silentLogger } from '../../src/util/logger.js';
import { FIXTURES, makeTokenizerDir, tmpDir } from './fixtures.js';
import { type FakeHub, startFakeHub } from '../helpers/fake-hub.js';

const parquet = readFileSync(join(FIXTURES, 'alpaca.parquet'));
const jsonl = (rows: Array<[string, string]>) => rows.map(([p, c]) => JSON.stringify({ prompt: p, completion: c })).join('\n');
const modelDir = makeTokenizerDir();

let hub: FakeHub;

beforeEach(async () => {
  hub = await startFakeHub({ datasets: {
    'tatsu-lab/alpaca': { files: { 'README.md': '# alpaca', 'data/train-00000-of-00001-a09b74b3ef9c3b56.parquet': parquet } },
    'acme/qa': {
      files: {
        'README.md': '# qa',
        'train.jsonl': jsonl([['2+2?', '4'], ['3+3?', '6'], ['4+4?', '8'], ['5+5?', '10']]),
        'test.jsonl': jsonl([['1+1?', '2'], ['9+9?', '18']]),
        'train.json': '[]',
      },
    },
    'acme/private': { files: { 'data.jsonl': jsonl([['a', 'b'], ['c', 'd']]) }, token: 'hf_secret' },
  } });
  vi.stubEnv('HF_ENDPOINT', hub.url);
  vi.stubEnv('HF_TOKEN', undefined);
});

afterEach(async () => {
  await hub.close();
  vi.unstubAllEnvs();
});

describe('Hub datasets over a loopback server', () => {
  test('the alpaca alias downloads the parquet split through HF_ENDPOINT, then reuses the cache offline', async () => {
    const cacheDir = tmpDir();
    const outDir = tmpDir();
    const params = { source: 'alpaca', name: 'alpaca', outDir, modelDir, template: 'alpaca', cacheDir, evalSamples: 1 };
    const first = await prepareDataset(params);
    expect(first.source).toMatchObject({ spec: 'hf:tatsu-lab/alpaca:train', kind: 'hub', repo: 'tatsu-lab/alpaca', split: 'train', revision: 'main', endpoint: hub.url, from_cache: false });
    expect(first.counts).toMatchObject({ available: 5, kept: 4, dropped: 1 });
    expect(hub.requests.map((r) => r.path)).toContain('/api/datasets/tatsu-lab/alpaca/tree/main');
    expect(hub.requests.some((r) => r.path === '/datasets/tatsu-lab/alpaca/resolve/main/data/train-00000-of-00001-a09b74b3ef9c3b56.parquet')).toBe(true);
    expect(existsSync(join(cacheDir, 'datasets', 'tatsu-lab', 'alpaca', 'main', 'data', 'train-00000-of-00001-a09b74b3ef9c3b56.parquet'))).toBe(true);

    await hub.close();
    const before = hub.requests.length;
    const second = await prepareDataset(params);
    expect(second.source).toMatchObject({ from_cache: true });
    expect(second.counts).toEqual(first.counts);
    expect(hub.requests.length).toBe(before);
    hub = await startFakeHub({}); // for afterEach
  });

  test('splits: files named for the split, preferring one format', async () => {
    const cacheDir = tmpDir();
    const test = await fetchHubDataset({ repo: 'acme/qa', split: 'test', cacheDir }, silentLogger);
    expect(test.repoFiles).toEqual(['test.jsonl']);
    const train = await fetchHubDataset({ repo: 'acme/qa', cacheDir }, silentLogger);
    expect(train.repoFiles).toEqual(['train.jsonl']);
    expect(readFileSync(train.files[0], 'utf8')).toContain('"2+2?"');
    const err = await fetchHubDataset({ repo: 'acme/qa', split: 'validation', cacheDir }, silentLogger).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubSplitNotFoundError);
    expect((err as HubSplitNotFoundError).hint).toContain('test.jsonl');
  });

  test('a damaged cache record is not trusted: the split is downloaded again', async () => {
    const cacheDir = tmpDir();
    await fetchHubDataset({ repo: 'acme/qa', cacheDir }, silentLogger);
    const record = join(cacheDir, 'datasets', 'acme', 'qa', 'main', '.lora-study-split-train.json');
    expect(existsSync(record)).toBe(true);
    writeFileSync(record, '{"files": [');
    const again = await fetchHubDataset({ repo: 'acme/qa', cacheDir }, silentLogger);
    expect(again).toMatchObject({ fromCache: false, repoFiles: ['train.jsonl'] });
    expect((await fetchHubDataset({ repo: 'acme/qa', cacheDir }, silentLogger)).fromCache).toBe(true);
  });

  test('a repo that does not exist says so', async () => {
    const err = await prepareDataset({ source: 'hf:acme/nope', name: 'x', outDir: tmpDir(), modelDir, template: 'alpaca', cacheDir: tmpDir() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubRepoNotFoundError);
    expect((err as Error).message).toBe(`dataset repo "acme/nope" does not exist on ${hub.url} (HTTP 404)`);
  });

  test('HF_TOKEN is sent as a bearer token; without it a private repo is not found', async () => {
    await expect(fetchHubDataset({ repo: 'acme/private', cacheDir: tmpDir() }, silentLogger)).rejects.toThrow(HubRepoNotFoundError);
    vi.stubEnv('HF_TOKEN', 'hf_secret');
    const ds = await fetchHubDataset({ repo: 'acme/private', cacheDir: tmpDir() }, silentLogger);
    expect(ds.repoFiles).toEqual(['data.jsonl']);
    expect(hub.requests.filter((r) => r.path.includes('acme/private')).at(-1)!.authorization).toBe('Bearer hf_secret');
  });

  test('unreachable endpoint and no cache: a clear error', async () => {
    const closed = await startFakeHub({});
    const url = closed.url;
    await closed.close();
    vi.stubEnv('HF_ENDPOINT', url);
    const cacheDir = tmpDir();
    const err = await fetchHubDataset({ repo: 'acme/qa', cacheDir }, silentLogger).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubUnreachableError);
    expect((err as Error).message).toMatch(new RegExp(`could not reach the Hugging Face Hub at ${url.replace(/\./g, '\\.')} \\(ECONNREFUSED\\), and no cached copy of acme/qa \\(split "train"\\) was found in`));
  });
});

describe('selectSplitFiles', () => {
  test('follows the datasets naming conventions', () => {
    const files = ['README.md', 'data/train-00000-of-00002.parquet', 'data/train-00001-of-00002.parquet', 'data/test-00000-of-00001.parquet', 'train.jsonl'];
    expect(selectSplitFiles(files, 'train')).toEqual(['data/train-00000-of-00002.parquet', 'data/train-00001-of-00002.parquet']);
    expect(selectSplitFiles(files, 'test')).toEqual(['data/test-00000-of-00001.parquet']);
    expect(selectSplitFiles(['alpaca_data.json', 'README.md'], 'train')).toEqual(['alpaca_data.json']);
    expect(selectSplitFiles(['alpaca_data.json'], 'test')).toEqual([]);
    expect(selectSplitFiles(['validation/part-0.jsonl', 'train/part-0.jsonl', '.hidden/train.jsonl'], 'train')).toEqual(['train/part-0.jsonl']);
    expect(selectSplitFiles(['data/my_train.jsonl', 'data/my_test.jsonl', 'constrained.jsonl'], 'train')).toEqual(['data/my_train.jsonl']);
  });
});
