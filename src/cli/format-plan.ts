import type { PlanRow } from '../experiments/plan.js';

const mib = (b?: number) => (b === undefined ? '-' : `${(b / 2 ** 20).toFixed(2)}`);
const secs = (s?: number) => (s === undefined ? '-' : s < 90 ? `${s.toFixed(0)}s` : `${(s / 60).toFixed(1)}m`);

/** The dry-run plan as a fixed-width table, one row per run. */
export function formatPlan(rows: PlanRow[], header: string): string {
  const table: string[][] = [['run', 'trainable', '%', 'base MiB', 'peak MiB (est)', 'time (est)', 'status']];
  for (const r of rows) {
    table.push([
      r.name,
      r.trainable_params?.toLocaleString('en-US') ?? '-',
      r.trainable_pct === undefined ? '-' : r.trainable_pct.toFixed(3),
      mib(r.base_weight_bytes),
      mib(r.est_peak_bytes),
      secs(r.est_time_s),
      r.ok ? (r.skip ? `skip (${r.skip})` : 'ok') : r.fits === false ? r.error! : `ERROR: ${r.error}`,
    ]);
  }
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  const lines = table.map((row) => row.map((cell, i) => (i === 0 || i === row.length - 1 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ').trimEnd());
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const total = rows.reduce((s, r) => s + (r.skip || r.fits === false ? 0 : (r.est_time_s ?? 0)), 0);
  const tooBig = rows.filter((r) => r.fits === false).length;
  return `${header}\n\n${lines.join('\n')}\n\n${rows.length} runs, ${rows.filter((r) => !r.ok && r.fits !== false).length} invalid, ${tooBig} will not fit; estimated training time ${secs(total)} (assumes the step reaches 30% of the measured matmul rate)`;
}
