import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { fetchHubDataset } from '../../src/data/hub.js';
import { silentLogger } from '../../src/util/logger.js';
import { tmpDir } from './fixtures.js';
import { type FakeHub, startFakeHub } from '../helpers/fake-hub.js';

let hub: FakeHub;
beforeAll(async () => {
  hub = await startFakeHub({ datasets: { 'evil/repo': { files: { '../../../../../escaped/train.jsonl': '{"instruction":"a","output":"b"}\n' } } } });
});
afterAll(() => hub.close());

test('a file a Hub server lists with ../ in its path is refused, and nothing is written outside the cache', async () => {
  const root = tmpDir();
  const cacheDir = join(root, 'cache');
  await expect(fetchHubDataset({ repo: 'evil/repo', hubUrl: hub.url, cacheDir }, silentLogger)).rejects.toThrow(/file listed by http:\/\/127\.0\.0\.1:\d+ for evil\/repo "(\.\.\/){5}escaped\/train\.jsonl" has a part that is "\.\."/);
  expect(readdirSync(root)).not.toContain('escaped');
  expect(existsSync(join(cacheDir, '..', 'escaped'))).toBe(false);
});
