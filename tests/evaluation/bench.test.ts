import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { formatBench } from '../../src/cli/bench.js';
import { BENCH_SHAPES, benchShapesDocument } from '../../src/evaluation/bench-shapes.js';
import { countParameters } from '../../src/evaluation/param-count.js';
import { parseModelConfig } from '../../src/model/config.js';
import { runCli } from '../helpers/run-cli.js';

// The tiny llama by hand: vocab 512, hidden 64, 2 layers, MLP 128, 4 heads of 16 with 2 KV heads
// (k/v 64→32), untied head. Per layer: q 64·64 + k 64·32 + v 64·32 + o 64·64 + gate/up/down
// 3·64·128 = 36,864 linear weights + 2 norms of 64.
const TINY_LINEAR_PER_LAYER = 4096 + 2048 + 2048 + 4096 + 3 * 8192;
const TINY_HEAD = 512 * 64;
const TINY_PARAMS = 512 * 64 + 2 * (TINY_LINEAR_PER_LAYER + 128) + 64 + TINY_HEAD; // 139,584

test('the fixed shapes are the models they are named for: GPT-2 small has its published 124,439,808 parameters', () => {
  const count = (i: number) => countParameters(parseModelConfig(BENCH_SHAPES[i].config, BENCH_SHAPES[i].name)).total;
  expect(BENCH_SHAPES.map((s) => s.name)).toEqual(['tiny-llama', 'gpt2-124m']);
  expect(count(1)).toBe(124_439_808); // transformers: GPT2LMHeadModel.from_pretrained('gpt2').num_parameters()
  expect(count(0)).toBe(TINY_PARAMS);
});

const dir = mkdtempSync(join(tmpdir(), 'bench-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A stand-in for python + scripts/bench-torch-peer.py: records how bench called it and answers, on
 * its 1st, 2nd and later calls, 512, 1024 and 256 tok/s (bench runs it three times and keeps the fastest).
 */
function fakePeer(): string {
  const file = join(dir, 'fake-python');
  const answer = (msPerStep: number, trainTokensPerS: number) => JSON.stringify({
    shape: 'tiny-llama', modelType: 'llama', torch: '0.0-fake', threads: 1, blas: { torchBlasInfo: 'fake', libraries: [] }, params: 139_584,
    trainableParams: 3584, batchSize: 4, seqLen: 64, steps: 3, timedSteps: 1, msPerStep, trainTokensPerS, stepMs: [1, 1, msPerStep],
    lastLoss: 6.2, peakRssBytes: 2 ** 28,
  });
  writeFileSync(file, [
    '#!/bin/sh',
    `printf '%s\\n' "$@" > ${dir}/args`,
    `cat > ${dir}/stdin`,
    `echo "$OMP_WAIT_POLICY" > ${dir}/omp`,
    `n=$(cat ${dir}/calls 2>/dev/null || echo 0); n=$((n + 1)); echo $n > ${dir}/calls`,
    `case $n in 1) echo '${answer(500, 512)}';; 2) echo '${answer(250, 1024)}';; *) echo '${answer(1000, 256)}';; esac`,
    '',
  ].join('\n'));
  chmodSync(file, 0o755);
  return file;
}

test('bench --quick --json --peer: one document whose figures agree with counts made by hand, the wall clock and the peer\'s answer', async () => {
  const r = await runCli(['bench', '--quick', '--steps', '3', '--backend', 'cpu', '--json', '--peer', fakePeer()]);
  expect(r.code, r.stderr).toBe(0);
  const doc = JSON.parse(r.stdout);
  expect(Object.keys(doc).sort()).toEqual(['blasPeak', 'cores', 'engine', 'goals', 'loadAverage', 'matmul', 'othersBusyCores', 'peakRssBytes', 'peer', 'shapes', 'wallTimeS']);
  expect(doc.engine.backend).toBe('cpu');
  expect(doc.shapes).toHaveLength(1);
  const s = doc.shapes[0];
  expect(s).toMatchObject({ name: 'tiny-llama', modelType: 'llama', steps: 3, timedSteps: 1, batchSize: 4, seqLen: 64, matmulKernels: 'backend' });
  expect(s.peakRssBytes).toBeGreaterThan(0);
  // 2 layers × (q: 8·(64+64) + v: 8·(64+32)) = 3,584 trainable; bytes at float32, Adam's two moments.
  expect(s.trainableParams).toBe(3584);
  expect(s.params).toBe(TINY_PARAMS);
  expect([s.baseWeightBytes, s.loraWeightBytes, s.optimizerBytes]).toEqual([558_336, 14_336, 28_672]);
  // Everything the bench says is held was live during the training step it profiled.
  expect(s.peakTfjsBytes).toBeGreaterThanOrEqual(558_336 + 14_336 + 28_672);
  // A LoRA step multiplies by every frozen weight forward and again backward (input gradients):
  // at least 4 FLOP per linear weight per token; weight gradients of the frozen base are not
  // computed, so well under 6 per weight plus the attention products (4·layers·T·hidden, ×3).
  const linear = 2 * TINY_LINEAR_PER_LAYER + TINY_HEAD;
  expect(s.trainFlopsPerToken).toBeGreaterThanOrEqual(4 * linear);
  expect(s.trainFlopsPerToken).toBeLessThanOrEqual(6 * linear + 3 * 4 * 2 * 64 * 64);
  // Timed figures agree with the clock: the timed step fits in the wall time, and tokens/s times
  // the step time is the 4 × 64 tokens of one step (every position is labelled).
  expect(s.timedSteps * s.msPerStep).toBeLessThanOrEqual(doc.wallTimeS * 1000);
  expect((s.trainTokensPerS * s.msPerStep) / 1000).toBeCloseTo(256, 6);
  // A training step cannot run its matmuls faster than the backend's plain matmul rate (2× slack).
  expect(s.matmulRatio).toBeGreaterThan(0);
  expect(s.achievedGflops).toBeLessThan(2 * doc.matmul.gflops);
  expect(s.genTokensPerS).toBeGreaterThan(0);
  // Random weights: the loss is about ln(vocab) = 6.24.
  expect(Math.abs(s.lastLoss - Math.log(512))).toBeLessThan(1);

  // The peer ran three times, for the one shape, with bench's thread count and bench's own shape document on stdin.
  expect(readFileSync(join(dir, 'calls'), 'utf8').trim()).toBe('3');
  // Idle OpenMP threads sleep rather than spin (unless the caller set OMP_WAIT_POLICY): PyTorch at its best.
  expect(readFileSync(join(dir, 'omp'), 'utf8').trim()).toBe(process.env.OMP_WAIT_POLICY || 'PASSIVE');
  const args = readFileSync(join(dir, 'args'), 'utf8').trim().split('\n');
  expect(args.slice(1)).toEqual(['--shapes', '-', '--shape', 'tiny-llama', '--threads', String(doc.engine.threads), '--steps', '3']);
  expect(args[0]).toMatch(/scripts\/bench-torch-peer\.py$/);
  expect(JSON.parse(readFileSync(join(dir, 'stdin'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(benchShapesDocument([BENCH_SHAPES[0]]))));
  expect(doc.peer.runs).toHaveLength(1);
  // The fastest of the three stands for the peer; every run's ms/step is kept.
  expect(doc.peer.runs[0]).toMatchObject({ ok: true, shape: 'tiny-llama', trainTokensPerS: 1024, msPerStep: 250, repeatMsPerStep: [500, 250, 1000], referenceBlas: false });
  expect(doc.goals).toHaveLength(1);
  const g = doc.goals[0];
  expect(g).toMatchObject({ shape: 'tiny-llama', peerTrainTokensPerS: 1024, peerPeakRssBytes: 2 ** 28, goals: { peerRatio: 1 } });
  expect(g.peerRatio).toBeCloseTo(s.trainTokensPerS / 1024, 9);
  expect(g.peerAchievedGflops).toBeCloseTo((s.trainFlopsPerToken * 1024) / 1e9, 9);
  expect(g.ofBlasPeak === null).toBe(!doc.blasPeak.ok);

  const table = formatBench(doc);
  expect(table).toMatch(/^PyTorch peer tiny-llama: torch 0\.0-fake \(.*fake-python\), 1 threads, OMP_WAIT_POLICY=\w+, own process after ours.*250\.0 ms\/step, the fastest of 3 runs \(500\.0, 250\.0, 1000\.0 ms\/step\)/m);
  expect(table).toMatch(/^tiny-llama\s+cpu\s+[\d.]+\s+1024\.0\s+[\d.]+× \(goal ≥ 1\.0×: (not )?met( under load)?\)/m);
  expect(table).toMatch(/^tiny-llama\s+140k\s+4×64\s+cpu\s/m);
  expect(table).toMatch(/^BLAS peak/m);
  expect(table).toContain('plain matmul 512×512×512');
});

test('bench --print-shapes: the shapes and optimiser the PyTorch peer script reads, exactly bench\'s', async () => {
  const r = await runCli(['bench', '--print-shapes']);
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual(JSON.parse(JSON.stringify(benchShapesDocument())));
  expect(JSON.parse(r.stdout).train).toMatchObject({ learningRate: 1e-4, maxGradNorm: 1, weightDecay: 0 });
});
