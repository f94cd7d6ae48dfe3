import type { Chart } from './charts/chart.js';

/**
 * The report as a list of blocks, rendered twice: to Markdown (RESULTS.md) and to HTML
 * (report.html), so the two never drift apart. Text may use `code`, **bold** and *italic*.
 */
export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'list'; items: string[] }
  | { kind: 'table'; headers: string[]; rows: string[][] }
  | { kind: 'chart'; chart: Chart };
