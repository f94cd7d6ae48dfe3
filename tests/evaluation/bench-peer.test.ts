import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { resolvePeerPython, runTorchPeer } from '../../src/evaluation/bench-peer.js';
import { BENCH_SHAPES, benchShapesDocument } from '../../src/evaluation/bench-shapes.js';
import { countParameters } from '../../src/evaluation/param-count.js';
import { parseModelConfig } from '../../src/model/config.js';
import { runProcess } from '../../src/util/run-process.js';

const tiny = BENCH_SHAPES.find((s) => s.name === 'tiny-llama')!;
const dir = mkdtempSync(join(tmpdir(), 'bench-peer-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in interpreter: a shell script that ignores its arguments and prints what it is given. */
function fakePython(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\ncat >/dev/null\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

describe('the peer outcome when there is no usable peer', () => {
  test('a python without torch: the script\'s {"skipped": reason} becomes the reason', async () => {
    const python = fakePython('no-torch', `echo '{"skipped": "torch not importable: No module named torch"}'`);
    expect(await runTorchPeer({ python, shape: tiny, threads: 1 })).toEqual({ ok: false, shape: 'tiny-llama', reason: 'torch not importable: No module named torch' });
  });

  test('an interpreter that is not there, one that fails and one that prints something else each say so', async () => {
    const missing = await runTorchPeer({ python: join(dir, 'absent-python'), shape: tiny, threads: 1 });
    expect(missing).toMatchObject({ ok: false, reason: expect.stringMatching(/absent-python: .*ENOENT/) });
    const failing = await runTorchPeer({ python: fakePython('fails', 'echo "Traceback" >&2; echo "RuntimeError: out of memory" >&2; exit 3'), shape: tiny, threads: 1 });
    expect(failing).toMatchObject({ ok: false, reason: expect.stringMatching(/exited 3: RuntimeError: out of memory$/) });
    const odd = await runTorchPeer({ python: fakePython('odd', `echo '{"shape": "tiny-llama"}'`), shape: tiny, threads: 1 });
    expect(odd).toMatchObject({ ok: false, reason: expect.stringMatching(/unexpected document: modelType/) });
  });

  test('an explicit interpreter is taken as given', async () => {
    expect(await resolvePeerPython('/opt/py/bin/python3')).toEqual({ python: '/opt/py/bin/python3' });
  });
});

// torch is not a CI dependency: this runs where Debian's python3-torch is installed and is skipped
// (with the reason) everywhere else, CI included.
const resolved = await resolvePeerPython('auto');
const noTorch = 'reason' in resolved ? resolved.reason : null;

describe.skipIf(noTorch !== null)(`the real PyTorch peer${noTorch ? ` (skipped: ${noTorch})` : ''}`, () => {
  const python = 'python' in resolved ? resolved.python : '';

  test('builds the same models as bench: base and LoRA parameter counts equal bench\'s for every shape', async () => {
    for (const shape of BENCH_SHAPES) {
      const r = await runProcess(python, ['scripts/bench-torch-peer.py', '--shapes', '-', '--shape', shape.name, '--count-only'], {
        input: JSON.stringify(benchShapesDocument()),
        timeoutMs: 120_000,
      });
      expect(r.status, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc.params).toBe(countParameters(parseModelConfig(shape.config, shape.name)).total);
      // LoRA r = 8: r·(in + out) per targeted module. tiny: 2 layers × (q 64→64, v 64→32); GPT-2: 12 × c_attn 768→2304.
      expect(doc.trainableParams).toBe(shape.name === 'tiny-llama' ? 2 * 8 * (128 + 96) : 12 * 8 * (768 + 2304));
    }
  }, 180_000);

  test('trains the tiny shape and reports figures that agree with each other', async () => {
    const r = await runTorchPeer({ python, shape: tiny, threads: 1, steps: 3 });
    if (!r.ok) throw new Error(r.reason);
    expect(r).toMatchObject({ shape: 'tiny-llama', modelType: 'llama', threads: 1, batchSize: 4, seqLen: 64, steps: 3, timedSteps: 1 });
    expect(r.stepMs).toHaveLength(3);
    expect((r.trainTokensPerS * r.msPerStep) / 1000).toBeCloseTo(256, 6);
    expect(Math.abs(r.lastLoss - Math.log(512))).toBeLessThan(1); // random weights
    expect(r.peakRssBytes).toBeGreaterThan(50 * 2 ** 20); // torch alone maps more than that
    expect(r.blas.torchBlasInfo).not.toBe('');
    expect(typeof r.referenceBlas).toBe('boolean');
  }, 120_000);

  test('refuses a shape it cannot reproduce faithfully (quantized base weights) rather than run another workload', async () => {
    const r = await runTorchPeer({ python, shape: { ...tiny, quantization: 'nf4' }, threads: 1, steps: 3 });
    expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/nf4 base weights; the peer is fp32 only$/) });
  }, 60_000);
});
