import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateReport, type GeneratedReport } from '../../src/reporting/index.js';
import { openTracker } from '../../src/tracking/index.js';
import { LoraStudyError } from '../../src/util/errors.js';
import { buildStudyFixture, MODULE_SETS, MODULE_SEEDS, QUANTS, RANK_SEEDS, RANKS, STEPS } from '../fixtures/tracking/study-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'report-'));
const db = join(dir, 'experiments.db');
const out = join(dir, 'report');
let report: GeneratedReport;
const NOW = new Date('2025-03-01T12:00:00Z');

beforeAll(async () => {
  buildStudyFixture(db);
  report = await generateReport({ dbPath: db, outDir: out, now: NOW });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const spec = (name: string): { data: { values: Record<string, unknown>[] } } =>
  JSON.parse(readFileSync(join(out, 'charts', `${name}.vl.json`), 'utf8'));
const md = (): string => readFileSync(join(out, 'RESULTS.md'), 'utf8');

const rankRuns = RANKS.length * RANK_SEEDS.length;
const moduleRuns = MODULE_SETS.length * MODULE_SEEDS.length;
const quantRuns = QUANTS.length;
const settings = RANKS.length + MODULE_SETS.length + QUANTS.length;

describe('generateReport on a fixture study', () => {
  it('writes the expected charts, each as spec, SVG and PNG', () => {
    expect(report.charts).toEqual([
      'rank_quality',
      'module_quality',
      'quantization_memory_quality',
      'loss_curves_rank',
      'loss_curves_module',
      'loss_curves_quantization',
      'throughput_memory',
      'pareto_params',
      'pareto_memory',
    ]);
    for (const name of report.charts) {
      const svg = readFileSync(join(out, 'charts', `${name}.svg`), 'utf8');
      expect(svg.startsWith('<svg'), name).toBe(true);
      expect(svg).toMatch(/<path|<line|<rect/);
      const png = readFileSync(join(out, 'charts', `${name}.png`));
      expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      expect(png.length, name).toBeGreaterThan(10_000);
    }
    expect(report).toMatchObject({ completedRuns: rankRuns + moduleRuns + quantRuns, failedRuns: 1 });
  });

  it('puts the right number of data points in each spec', () => {
    expect(spec('rank_quality').data.values).toHaveLength(rankRuns); // one per run: seeds pooled by the spec
    expect(spec('module_quality').data.values).toHaveLength(moduleRuns);
    expect(spec('quantization_memory_quality').data.values).toHaveLength(quantRuns);
    expect(spec('loss_curves_rank').data.values).toHaveLength(rankRuns * STEPS);
    expect(spec('loss_curves_module').data.values).toHaveLength(moduleRuns * STEPS);
    expect(spec('loss_curves_quantization').data.values).toHaveLength(quantRuns * STEPS);
    expect(spec('throughput_memory').data.values).toHaveLength(rankRuns + moduleRuns + quantRuns);
    expect(spec('pareto_params').data.values).toHaveLength(settings); // one per setting: means
    expect(spec('pareto_memory').data.values).toHaveLength(settings);
    // The failed r=128 run is in no chart.
    for (const name of report.charts) expect(JSON.stringify(spec(name).data.values), name).not.toContain('r128');
  });

  it('pools seeds: the rank chart keeps every seed, the Pareto points are means over seeds', () => {
    const r8 = spec('rank_quality').data.values.filter((v) => v.variant === 'r=8');
    expect(r8.map((v) => v.seed).sort()).toEqual(RANK_SEEDS);
    const t = openTracker(db, { mustExist: true });
    const em = t.listRuns({ suite: 'rank_sweep', status: 'completed' }).filter((r) => r.rank === 8).map((r) => t.getMetrics(r.id).exact_match.value);
    t.close();
    const point = spec('pareto_params').data.values.find((v) => v.setting === 'rank · r=8')!;
    expect(point.quality).toBeCloseTo(em.reduce((a, b) => a + b, 0) / em.length, 10);
    expect(point.quality_min).toBe(Math.min(...em));
    expect(point.quality_max).toBe(Math.max(...em));
  });

  it('marks dominated settings', () => {
    const rows = spec('pareto_params').data.values;
    const status = (s: string): unknown => rows.find((v) => v.setting === s)?.status;
    expect(status('rank · r=1')).toBe('Pareto-optimal'); // the cheapest is never dominated
    expect(status('module · all-linear')).toBe('Pareto-optimal'); // the best is never dominated
    expect(status('rank · r=64')).toBe('dominated'); // r=32 is better with half the parameters
    expect(rows.find((v) => v.setting === 'rank · r=64')?.dominated_by).toMatch(/^rank · r=(16|32)$/);
  });

  it('writes tables and findings computed from the data', () => {
    const text = md();
    for (const h of ['## Findings', '## Rank study', '## Target-module study', '## Base-weight quantization study', '## Throughput and memory', '## Quality against cost (Pareto)', '## All completed runs', '## Failed runs', '## Environment']) {
      expect(text).toContain(h);
    }
    // Every completed run has a row in the runs table.
    for (const name of ['rank_sweep/r1/seed1', 'module_sweep/all-linear/seed2', 'quantization_sweep/nf4/seed1']) expect(text).toContain(`| ${name} |`);
    // Rankings state mean ± sd and claim only what exceeds the seed spread; one seed claims nothing.
    expect(text).toMatch(/Rank study, exact match \(higher is better\), mean ± sd over 3 seeds: \*\*r=\d+\*\* [\d.]+ ± [\d.]+/);
    expect(text).toMatch(/Rank study, eval loss .*within noise of it: .*\*\*r=32\*\*/);
    expect(text).toMatch(/Base-weight quantization study, exact match \(higher is better\), one seed per setting: .*no setting is called better/);
    expect(text).toMatch(/Rank study, time per step .*\*\*r=1\*\* [\d.]+ ms\/step \(3 runs [\d.]+–[\d.]+, IQR [\d.]+–[\d.]+\) is faster than \*\*r=64\*\* .* beyond the spread across and within runs \(machine load not recorded for these runs, so it was not checked\)/);
    expect(text).toContain('step ms: median (IQR) | step ms: runs min–max |');
    expect(text).toMatch(/\*\*nf4\*\* holds the base weights in 14% of fp32's memory .*not compared with \*\*fp32\*\* \(one seed: spread unknown\)/);
    expect(text).toMatch(/Pareto-optimal settings are .*\*\*rank · r=1\*\*/);
    expect(text).toMatch(/dominated \([^)]*\): .*rank · r=64 \(by rank · r=\d+\)/);
    expect(text).toContain('out of memory: failed to allocate 512 MiB');
    expect(text).toMatch(/\| backend \| wasm \|/);
    expect(text).toMatch(/\| `@tensorflow\/tfjs-core` \| 4\.22\.0 \|/);
    expect(text).toContain('| report generated | 2025-03-01T12:00:00.000Z |');
    expect(text).toContain('![Rank: quality against trainable parameters](charts/rank_quality.svg)');
  });

  it('writes a self-contained report.html with every chart inlined', () => {
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html.match(/<figure class="chart"/g)).toHaveLength(report.charts.length);
    expect(html.match(/<svg /g)?.length).toBeGreaterThanOrEqual(report.charts.length);
    expect(html).not.toMatch(/<script|<link|<img|src="http/);
    expect(html).toContain('<h2>Findings</h2>');
  });

  it('reports one suite with --suite', async () => {
    const sub = join(dir, 'quant-only');
    const r = await generateReport({ dbPath: db, suite: 'quantization_sweep', outDir: sub });
    expect(r.charts).toEqual(['quantization_memory_quality', 'loss_curves_quantization', 'throughput_memory', 'pareto_params', 'pareto_memory']);
    expect(r.completedRuns).toBe(quantRuns);
    expect(readFileSync(join(sub, 'RESULTS.md'), 'utf8')).not.toContain('## Failed runs');
  });
});

describe('nothing to report', () => {
  it('an empty database is a LoraStudyError, and writes nothing', async () => {
    const empty = join(dir, 'empty.db');
    openTracker(empty).close();
    const target = join(dir, 'empty-report');
    await expect(generateReport({ dbPath: empty, outDir: target })).rejects.toThrow(LoraStudyError);
    await expect(generateReport({ dbPath: empty, outDir: target })).rejects.toThrow(/no runs recorded/);
    expect(existsSync(target)).toBe(false);
  });

  it('a suite with no completed run is a LoraStudyError', async () => {
    const p = join(dir, 'failed-only.db');
    const t = openTracker(p);
    const s = t.createSuite({ name: 'broken', config: {} });
    t.finishRun(t.startRun({ suiteId: s, name: 'x', experimentType: 'rank', config: {} }), { status: 'failed', error: 'NaN' });
    t.close();
    await expect(generateReport({ dbPath: p, suite: 'broken', outDir: join(dir, 'x') })).rejects.toThrow(/no completed runs in suite "broken"/);
  });

  it('a missing database or an unknown suite is a LoraStudyError', async () => {
    await expect(generateReport({ dbPath: join(dir, 'missing.db'), outDir: join(dir, 'y') })).rejects.toThrow(/no tracking database/);
    await expect(generateReport({ dbPath: db, suite: 'nope', outDir: join(dir, 'z') })).rejects.toThrow(/no suite named "nope".*/);
  });
});
