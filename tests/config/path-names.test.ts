import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/config/config-errors.js';
import { expandSuite } from '../../src/config/expand-suite.js';
import { resolveRunConfig } from '../../src/config/resolve-run-config.js';
import { prepareDataset } from '../../src/data/prepare.js';
import { parseSourceSpec } from '../../src/data/source-spec.js';
import { assertRelativePath, pathSegmentProblem } from '../../src/util/path-segment.js';
import { makeTokenizerDir, tmpDir } from '../data/fixtures.js';

const BAD = ['../../x', '..', '.', '/etc/passwd', '/tmp', 'a/b', 'a\\b', 'a\0b', 'C:x', 'line\nbreak', '', 'x'.repeat(201)];
const GOOD = ['run', 'rank_sweep-r=4-s42', 'q_proj+v_proj', 'my run', 'ünïcode', '.hidden-but-one-segment', 'x'.repeat(200)];

describe('names that become paths: one shared rule', () => {
  test.each(BAD)('refuses %j', (name) => {
    expect(pathSegmentProblem(name)).not.toBeNull();
  });
  test.each(GOOD)('accepts %j', (name) => {
    expect(pathSegmentProblem(name)).toBeNull();
  });

  test('run name from a flag or from YAML', () => {
    for (const name of ['../../x', '..', '/tmp/x', 'a\0b']) {
      expect(() => resolveRunConfig(undefined, { name, model: 'm', dataset: 'd' })).toThrow(ConfigError);
    }
    expect(() => resolveRunConfig(undefined, { name: '../../x', model: 'm', dataset: 'd' })).toThrow(/name.*"\.\.\/\.\.\/x" contains "\/"/s);
    const file = join(tmpDir(), 'run.yaml');
    writeFileSync(file, 'name: ../../x\nmodel: m\ndataset: d\n');
    expect(() => resolveRunConfig(file, {})).toThrow(new RegExp(`${file}[\\s\\S]*name`));
  });

  test('suite name', () => {
    const suite = (name: string) => ({ name, type: 'rank', base: { model: 'm', dataset: 'd' }, sweep: { r: [2] } });
    for (const name of ['..', '../x', '/abs', 'a\0b']) expect(() => expandSuite(suite(name), 's.yaml')).toThrow(ConfigError);
    expect(expandSuite(suite('ok-suite'), 's.yaml').runs[0].name).toBe('ok-suite-r2-s42');
  });

  test('hf:<repo> dataset names and revisions', () => {
    for (const spec of ['hf:../..', 'hf:..', 'hf:owner/..', 'hf:../x', 'hf:owner/name@..', 'hf:owner/name@refs/../..']) {
      expect(() => parseSourceSpec(spec), spec).toThrow(/not a valid Hub dataset name|part/);
    }
    expect(parseSourceSpec('hf:tatsu-lab/alpaca@refs/pr/1:test')).toEqual({ kind: 'hub', repo: 'tatsu-lab/alpaca', revision: 'refs/pr/1', split: 'test' });
  });

  test('files a Hub server lists', () => {
    expect(() => assertRelativePath('../../etc/cron.d/x', 'file listed by the Hub')).toThrow(/file listed by the Hub/);
    expect(() => assertRelativePath('/abs.json', 'file')).toThrow();
    expect(assertRelativePath('data/train-00000-of-00001.parquet', 'file')).toBe('data/train-00000-of-00001.parquet');
  });

  test('prepare-dataset --name', async () => {
    const modelDir = makeTokenizerDir();
    for (const name of ['../../x', '..', '/tmp/x', 'a\0b']) {
      await expect(prepareDataset({ source: 'builtin:reverse', name, outDir: tmpDir(), modelDir, template: 'plain' })).rejects.toThrow(/--name/);
    }
  });
});

describe('config files', () => {
  test('--config naming a folder (EISDIR) says so and names the path', () => {
    const dir = tmpDir();
    expect(() => resolveRunConfig(dir, {})).toThrow(`config file ${dir} is a folder, not a YAML file`);
  });
});
