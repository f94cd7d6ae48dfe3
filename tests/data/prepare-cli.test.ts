import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { defaultDatasetName, register } from '../../src/cli/prepare-dataset.js';
import { FIXTURES, makeTokenizerDir, tmpDir } from './fixtures.js';

// In-process through commander, with only this command registered: the test exercises the
// command file, not whatever else the program table loads.
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const program = new Command().exitOverride();
  register(program);
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  vi.stubEnv('LORA_STUDY_LOG_LEVEL', 'silent');
  try {
    await program.parseAsync(['prepare-dataset', ...args], { from: 'user' });
  } finally {
    out.mockRestore();
    err.mockRestore();
    vi.unstubAllEnvs();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { code, stdout, stderr };
}

afterEach(() => {
  process.exitCode = 0;
});

describe('lora-study prepare-dataset', () => {
  test('--json prints one JSON document with the summary; files land in --out-dir/<name>', async () => {
    const outDir = tmpDir();
    const r = await cli(['--dataset', 'builtin:reverse', '--model', makeTokenizerDir(), '--out-dir', outDir, '--template', 'plain', '--num-samples', '50', '--eval-samples', '5', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ name: 'builtin-reverse', counts: { kept: 50, train: 45, eval: 5 }, template: 'plain' });
    expect(existsSync(join(outDir, 'builtin-reverse', 'meta.json'))).toBe(true);
  });

  test('the human summary shows read = kept + dropped and each reason with rows', async () => {
    const r = await cli(['--dataset', join(FIXTURES, 'bad-rows.jsonl'), '--model', makeTokenizerDir(), '--out-dir', tmpDir(), '--template', 'plain', '--max-seq-len', '64']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('read 16 = kept 5 + dropped 11');
    expect(r.stdout).toMatch(/dropped {3}duplicate: 2 \(rows 7, 15\) — an exact duplicate/);
  });

  test('errors: `error during prepare-dataset: …`, non-zero exit, and a JSON error with --json', async () => {
    const r = await cli(['--dataset', join(FIXTURES, 'broken.jsonl'), '--model', makeTokenizerDir(), '--out-dir', tmpDir(), '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error during prepare-dataset: .*broken\.jsonl \(line 2, column \d+\): not valid JSON Lines/);
    expect(JSON.parse(r.stdout).error).toMatchObject({ command: 'prepare-dataset', type: 'DatasetParseError' });
  });

  test('default names', () => {
    expect(defaultDatasetName('builtin:mix')).toBe('builtin-mix');
    expect(defaultDatasetName('alpaca')).toBe('alpaca');
    expect(defaultDatasetName('hf:acme/qa:test')).toBe('qa-test');
    expect(defaultDatasetName('some/dir/rows.jsonl')).toBe('rows');
  });
});
