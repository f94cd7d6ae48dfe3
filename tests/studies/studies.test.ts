import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/config/config-errors.js';
import { expandSuite } from '../../src/config/expand-suite.js';
import { methodName } from '../../src/studies/method.js';
import { STUDIES, STUDY_TYPES } from '../../src/studies/registry.js';
import { runCli } from '../helpers/run-cli.js';

const base = { model: 'models/tiny-llama', dataset: 'data/builtin-format', lora: { target_modules: ['q_proj'] }, training: { max_steps: 2 } };
const dir = mkdtempSync(join(tmpdir(), 'studies-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the study registry', () => {
  test('one definition per type, each varying real run-config paths', () => {
    expect(new Set(STUDY_TYPES).size).toBe(STUDIES.length);
    expect(STUDY_TYPES).toEqual(['rank', 'module', 'quantization', 'method', 'single']);
  });

  test('an unknown suite type is refused with the allowed list', () => {
    expect(() => expandSuite({ name: 'x', type: 'ranks', base, sweep: { rank: [1] } }, 'x.yaml')).toThrow(ConfigError);
    expect(() => expandSuite({ name: 'x', type: 'ranks', base, sweep: { rank: [1] } }, 'x.yaml')).toThrow(
      /type: unknown study type "ranks": use one of rank, module, quantization, method, single/,
    );
  });

  test('run-suite --dry-run fails on an unknown type, naming the file and the allowed types', async () => {
    const file = join(dir, 'bogus.yaml');
    writeFileSync(file, stringify({ name: 'bogus', type: 'bogus', base, sweep: { rank: [1] } }));
    const r = await runCli(['run-suite', file, '--dry-run']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(/unknown study type "bogus": use one of rank, module, quantization, method, single/);
  }, 60_000);
});

describe('rank study', () => {
  test('derives lora_alpha = 2r unless the suite sets it, and labels variants r=N', () => {
    const s = expandSuite({ name: 'r', type: 'rank', base, sweep: { rank: [2, 16] } }, 'r.yaml');
    expect(s.runs.map((r) => [r.name, r.label, r.config.lora.r, r.config.lora.lora_alpha])).toEqual([
      ['r-r2-s42', 'r=2', 2, 4],
      ['r-r16-s42', 'r=16', 16, 32],
    ]);
    const fixed = expandSuite({ name: 'r', type: 'rank', base: { ...base, lora: { lora_alpha: 8 } }, sweep: { rank: [2, 16] } }, 'r.yaml');
    expect(fixed.runs.map((r) => r.config.lora.lora_alpha)).toEqual([8, 8]);
  });
});

describe('method study', () => {
  test('names each method from the config paths it varies', () => {
    const c = (lora: object, training: object = {}) => ({ lora, training }) as never;
    expect(methodName(c({}))).toBe('LoRA');
    expect(methodName(c({ use_rslora: true }))).toBe('rsLoRA');
    expect(methodName(c({ use_dora: true }))).toBe('DoRA');
    expect(methodName(c({}, { loraplus_lr_ratio: 16 }))).toBe('LoRA+');
    expect(methodName(c({ init_lora_weights: 'pissa_niter_4' }))).toBe('PiSSA');
    expect(methodName(c({ init_lora_weights: 'olora' }))).toBe('OLoRA');
    expect(methodName(c({ use_rslora: true, use_dora: true }))).toBe('rsLoRA, DoRA');
  });

  test('labels the variants that exist today, and refuses methods compared at different ranks', () => {
    const s = expandSuite({ name: 'm', type: 'method', base, variants: [{ name: 'lora' }, { name: 'rslora', use_rslora: true }], seeds: [0, 1, 2] }, 'm.yaml');
    expect([...new Set(s.runs.map((r) => r.label))]).toEqual(['LoRA', 'rsLoRA']);
    expect(() =>
      expandSuite({ name: 'm', type: 'method', base, variants: [{ name: 'lora', rank: 4 }, { name: 'rslora', rank: 8, use_rslora: true }] }, 'm.yaml'),
    ).toThrow(/compares methods at one rank, but its variants use r = 4, 8/);
  });

  test('runs every setting of one seed before the next seed, so machine load drifts over all settings alike', () => {
    const s = expandSuite({ name: 'm', type: 'method', base, variants: [{ name: 'lora' }, { name: 'rslora', use_rslora: true }], seeds: [2, 0] }, 'm.yaml');
    expect(s.runs.map((r) => r.name)).toEqual(['m-lora-s2', 'm-rslora-s2', 'm-lora-s0', 'm-rslora-s0']);
  });
});
