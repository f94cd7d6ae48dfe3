import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/config/config-errors.js';
import { loadSuite } from '../../src/config/expand-suite.js';
import { setPath } from '../../src/config/set-path.js';
import { tmpDir } from '../data/fixtures.js';

describe('setPath refuses paths that reach the object prototype', () => {
  test.each([['__proto__', 'polluted'], ['constructor', 'prototype', 'polluted'], ['training', '__proto__', 'polluted'], ['prototype']])('%j', (...keys) => {
    const obj: Record<string, unknown> = { training: {} };
    expect(() => setPath(obj, keys, 1)).toThrow(/is not a config field/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  test('ordinary paths are set, creating levels', () => {
    const obj: Record<string, unknown> = {};
    setPath(obj, ['training', 'max_steps'], 5);
    expect(obj).toEqual({ training: { max_steps: 5 } });
  });

  test.each(['__proto__.polluted', 'constructor', 'training.__proto__.polluted', 'lora.constructor.prototype.x'])('a suite sweeping %s is a ConfigError naming the key', (key) => {
    const file = join(tmpDir(), 'suite.yaml');
    writeFileSync(file, `name: s\ntype: rank\nbase: { model: m, dataset: d }\nsweep:\n  "${key}": [1]\n`);
    expect(() => loadSuite(file)).toThrow(ConfigError);
    expect(() => loadSuite(file)).toThrow(`sweep.${key}`);
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  test('a variant field named __proto__ is refused too', () => {
    const file = join(tmpDir(), 'suite.yaml');
    writeFileSync(file, 'name: s\ntype: rank\nbase: { model: m, dataset: d }\nvariants:\n  - { "constructor.x": 1 }\n');
    expect(() => loadSuite(file)).toThrow(/variants\[0\]\.constructor\.x/);
  });
});
