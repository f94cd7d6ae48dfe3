import { existsSync, mkdtempSync, readFileSync, writeFileSync, truncateSync, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { prepareDataset } from '../../src/data/prepare.js';
import { writeTinyModel } from '../helpers/tiny-models.js';
import { runCli } from '../helpers/run-cli.js';

const root = mkdtempSync(join(tmpdir(), 'cli-'));
const model = join(root, 'model');
const data = join(root, 'data', 'rev');

beforeAll(async () => {
  await writeTinyModel(model, { modelType: 'qwen2', seed: 2, maxPositions: 128 });
  await prepareDataset({ source: 'builtin:reverse', name: 'rev', outDir: join(root, 'data'), modelDir: model, template: 'plain', numSamples: 40, evalSamples: 4, maxSeqLen: 64 });
});

const common = ['--dataset', data, '--steps', '2', '--batch', '2', '--seq-len', '64', '--eval-samples', '4', '--backend', 'cpu'];

test('run-single --json prints one JSON document; merge exports a model folder', async () => {
  const out = join(root, 'out');
  const r = await runCli(['run-single', '--model', model, ...common, '--r', '2', '--targets', 'q_proj,v_proj', '-o', out, '--db', join(root, 'db.sqlite'), '--json']);
  expect(r.code, r.stderr).toBe(0);
  const doc = JSON.parse(r.stdout);
  expect(doc.status).toBe('completed');
  // 2 layers × (q: 2·(32+32) + v: 2·(32+16)) on the tiny qwen2 (hidden 32, 2 KV heads of 8)
  expect(doc.summary.trainable_params).toBe(2 * (2 * 64 + 2 * 48));
  expect(existsSync(join(out, 'adapter', 'adapter_config.json'))).toBe(true);
  const m = await runCli(['merge', '--model', model, '--adapter', join(out, 'adapter'), '-o', join(root, 'merged'), '--backend', 'cpu', '--json']);
  expect(m.code, m.stderr).toBe(0);
  expect(JSON.parse(m.stdout).modules).toBe(4);
  expect(existsSync(join(root, 'merged', 'model.safetensors'))).toBe(true);
  const runs = await runCli(['runs', '--db', join(root, 'db.sqlite'), '--json']);
  expect(runs.code, runs.stderr).toBe(0);
});

test('a run that fails under --json prints exactly one JSON document: the error, carrying the outcome', async () => {
  const r = await runCli(['run-single', '--model', join(root, 'no-model-here'), ...common, '--no-track', '-o', join(root, 'failed'), '--json']);
  expect(r.code).toBe(1);
  // JSON.parse refuses two concatenated documents.
  const doc = JSON.parse(r.stdout) as { error: { command: string; message: string; result: { status: string; outputDir: string } } };
  expect(Object.keys(doc)).toEqual(['error']);
  expect(doc.error.command).toBe('run-single');
  expect(doc.error.message).toContain('has no config.json');
  expect(doc.error.result).toMatchObject({ status: 'failed', outputDir: join(root, 'failed') });
  expect(r.stderr).toMatch(/error during run-single: model folder .*no-model-here has no config\.json/);
});

describe('bad input: a clear message and a non-zero exit', () => {
  const expectError = async (args: string[], pattern: RegExp) => {
    const r = await runCli(['run-single', ...args, ...common, '--no-track']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/error during run-single/);
    expect(r.stderr).toMatch(pattern);
  };

  test('missing config.json', async () => {
    await expectError(['--model', join(root, 'nowhere')], /config\.json/);
  });

  test('unknown model_type', async () => {
    const dir = join(root, 'falcon');
    await writeTinyModel(dir, { modelType: 'llama', seed: 1 });
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, model_type: 'falcon' }));
    await expectError(['--model', dir], /falcon/);
  });

  test('truncated safetensors', async () => {
    const dir = join(root, 'trunc');
    await writeTinyModel(dir, { modelType: 'llama', seed: 1 });
    const f = join(dir, 'model.safetensors');
    truncateSync(f, Math.floor(statSync(f).size / 2));
    await expectError(['--model', dir], /truncated|safetensors/i);
  });

  test('target modules that match nothing', async () => {
    await expectError(['--model', model, '--targets', 'qkv_proj'], /matched no linear module/);
  });

  test('r <= 0', async () => {
    await expectError(['--model', model, '--r', '0'], /lora\.r/);
  });

  test('dataset that is not prepared', async () => {
    const empty = join(root, 'empty');
    rmSync(empty, { recursive: true, force: true });
    const r = await runCli(['run-single', '--model', model, '--dataset', empty, '--backend', 'cpu', '--no-track']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/not a prepared dataset/);
  });
});
