import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { chooseQualityMetric, groupVariants } from './aggregate.js';
import { buildCharts } from './charts/build-charts.js';
import { buildDocument } from './build-document.js';
import { computeFindings } from './findings.js';
import { loadStudy } from './load-study.js';
import { renderPng, renderSvg } from './render-chart.js';
import { renderHtml } from './render-html.js';
import { renderMarkdown } from './render-markdown.js';

export interface GenerateReportParams {
  /** Tracking database to read. */
  /** `--db`: a SQLite path or postgres URL; default $LORA_STUDY_DB, else results/experiments.db. */
  dbPath?: string;
  /** Only runs of suites with this name; all runs when omitted. */
  suite?: string;
  /** Output folder. Default `results/report`. */
  outDir?: string;
  logger?: Logger;
  /** Stamped in the environment section; a parameter so tests are reproducible. */
  now?: Date;
}

export interface GeneratedReport {
  outDir: string;
  markdownPath: string;
  htmlPath: string;
  /** Chart names; each has `charts/<name>.vl.json`, `.svg` and `.png`. */
  charts: string[];
  findings: string[];
  completedRuns: number;
  failedRuns: number;
}

/**
 * Reads the tracker and writes RESULTS.md, report.html and charts/<name>.{vl.json,svg,png}
 * under `outDir`. Each file is written atomically; a database with nothing completed is an error.
 */
export async function generateReport(params: GenerateReportParams): Promise<GeneratedReport> {
  const outDir = params.outDir ?? 'results/report';
  const logger = params.logger ?? silentLogger;
  const data = await loadStudy(params.dbPath, params.suite);
  const variants = groupVariants(data.completed);
  const quality = chooseQualityMetric(data.completed);
  const charts = buildCharts(variants, quality);
  const findings = computeFindings(data, variants, quality);
  const { title, blocks } = buildDocument({ data, variants, quality, charts, findings, generatedAt: params.now ?? new Date() });

  const svgs = new Map<string, string>();
  for (const chart of charts) {
    logger.debug({ chart: chart.name }, 'rendering chart');
    const svg = await renderSvg(chart.spec, logger);
    svgs.set(chart.name, svg);
    const base = join(outDir, 'charts', chart.name);
    await writeFileAtomic(`${base}.vl.json`, `${JSON.stringify(chart.spec, null, 2)}\n`);
    await writeFileAtomic(`${base}.svg`, svg);
    await writeFileAtomic(`${base}.png`, renderPng(svg, logger));
  }
  const markdownPath = join(outDir, 'RESULTS.md');
  const htmlPath = join(outDir, 'report.html');
  await writeFileAtomic(markdownPath, renderMarkdown(blocks));
  await writeFileAtomic(htmlPath, renderHtml(title, blocks, svgs));
  logger.info({ outDir, charts: charts.length }, 'report written');
  return {
    outDir,
    markdownPath,
    htmlPath,
    charts: charts.map((c) => c.name),
    findings,
    completedRuns: data.completed.length,
    failedRuns: data.failed.length,
  };
}
