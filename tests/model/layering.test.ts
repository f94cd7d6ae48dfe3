/** src/model is the bottom layer: it imports nothing from lora, training, experiments or above. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const UPPER = ['lora', 'training', 'experiments', 'evaluation', 'studies', 'tracking', 'reporting', 'cli', 'config', 'data'];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

test('no file under src/model imports an upper layer', () => {
  const upward = new RegExp(`from '(\\.\\./)+(${UPPER.join('|')})/`);
  const offenders = files('src/model').flatMap((f) =>
    readFileSync(f, 'utf8').split('\n').filter((line) => upward.test(line)).map((line) => `${f}: ${line.trim()}`),
  );
  expect(offenders).toEqual([]);
});
