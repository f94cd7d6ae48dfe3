import type { RunOutcome } from '../experiments/types.js';

const mb = (b: number | undefined) => (b === undefined ? '-' : `${(b / 2 ** 20).toFixed(2)} MiB`);
const num = (x: number | undefined, d = 4) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));

/** The human summary of one run printed by run-single. */
export function formatRunSummary(o: RunOutcome): string {
  if (!o.summary) return `${o.name}: ${o.status}${o.error ? ` — ${o.error}` : ''}`;
  const s = o.summary;
  const rows: Array<[string, string]> = [
    ['status', o.status],
    ['output', o.outputDir],
    ['run id', o.runId === null ? '-' : String(o.runId)],
    ['trainable params', `${s.trainable_params.toLocaleString('en-US')} of ${s.total_params.toLocaleString('en-US')} (${s.trainable_pct.toFixed(3)}%)`],
    ['train loss', `${num(s.train_loss_first)} → ${num(s.train_loss_final)}`],
    ['eval loss / ppl', `${num(s.eval_loss)} / ${num(s.perplexity, 2)}`],
    ['token accuracy', num(s.token_accuracy, 3)],
    ['exact match', num(s.exact_match, 3)],
    ['ROUGE-L F1', num(s.rouge_l, 3)],
    ['train tokens/s', num(s.train_tokens_per_s, 0)],
    ['ms/step (fwd+bwd, opt)', `${num(s.ms_per_step, 1)} (${num(s.ms_fwd_bwd, 1)}, ${num(s.ms_optimizer, 1)})`],
    ['MFU', s.mfu === undefined ? '-' : `${(100 * s.mfu).toFixed(1)}% of ${num(s.matmul_peak_gflops, 1)} GFLOP/s matmul`],
    ['base weights', mb(s.base_weight_bytes)],
    ['LoRA / optimizer', `${mb(s.lora_weight_bytes)} / ${mb(s.optimizer_bytes)}`],
    ['peak tfjs / RSS', `${mb(s.peak_tfjs_bytes)} / ${mb(s.peak_rss_bytes)}`],
    ['adapter on disk', mb(s.adapter_bytes)],
    ['wall time', `${s.wall_time_s.toFixed(1)} s`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}
