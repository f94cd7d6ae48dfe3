import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { prepareDataset } from '../../src/data/prepare.js';
import { ensureDatasets } from '../../src/experiments/suite-runner.js';
import type { PlannedRun } from '../../src/config/expand-suite.js';
import { silentLogger } from '../../src/util/logger.js';
import { CHATML_JINJA, FIXTURES, makeTokenizerDir, tmpDir } from './fixtures.js';

const modelDir = makeTokenizerDir({ chatTemplate: CHATML_JINJA });
const source = join(FIXTURES, 'alpaca.json');
const prepare = (outDir: string, name: string, overwrite?: boolean) =>
  prepareDataset({ source, name, outDir, modelDir, template: 'alpaca', overwrite }, silentLogger);

function precious(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'notes.txt'), 'not a dataset');
}

describe('prepare-dataset never deletes a folder it did not write', () => {
  test('an existing non-dataset folder is refused, kept as it was, and replaced only with overwrite', async () => {
    const out = tmpDir();
    precious(join(out, 'ds'));
    await expect(prepare(out, 'ds')).rejects.toThrow(/refusing to replace .*ds: it exists, is not empty and has no meta\.json/);
    await expect(prepare(out, 'ds')).rejects.toMatchObject({ hint: expect.stringContaining('--overwrite') });
    expect(readFileSync(join(out, 'ds', 'notes.txt'), 'utf8')).toBe('not a dataset');
    await prepare(out, 'ds', true);
    expect(existsSync(join(out, 'ds', 'notes.txt'))).toBe(false);
    expect(existsSync(join(out, 'ds', 'meta.json'))).toBe(true);
  });

  test('a prepared dataset (meta.json) and an empty folder are replaced without asking', async () => {
    const out = tmpDir();
    await prepare(out, 'ds');
    await prepare(out, 'ds');
    mkdirSync(join(out, 'empty'));
    await prepare(out, 'empty');
    expect(existsSync(join(out, 'empty', 'meta.json'))).toBe(true);
  });

  test('the output may not be the folder holding the source data or the model, even with overwrite', async () => {
    const out = tmpDir();
    const srcDir = join(out, 'raw');
    mkdirSync(srcDir);
    writeFileSync(join(srcDir, 'rows.json'), readFileSync(source));
    await expect(prepareDataset({ source: srcDir, name: 'raw', outDir: out, modelDir, template: 'alpaca', overwrite: true })).rejects.toThrow(/is the --dataset input/);
    expect(existsSync(join(srcDir, 'rows.json'))).toBe(true);
  });

  test("a suite's dataset: folder without meta.json is not replaced by its prepare: block", async () => {
    const out = tmpDir();
    const dir = join(out, 'mine');
    precious(dir);
    const run = { name: 'r', variant: 'v', seed: 1, config: { dataset: dir, model: modelDir } } as unknown as PlannedRun;
    const prepareSpec = { source, template: 'alpaca' };
    await expect(ensureDatasets([run], prepareSpec, silentLogger)).rejects.toThrow(/the suite's dataset .*mine exists but is not a prepared dataset/);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('not a dataset');
  });
});
