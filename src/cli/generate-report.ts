import type { Command } from 'commander';
import { generateReport } from '../reporting/index.js';
import { DB_FLAGS, DB_HELP } from './db-option.js';
import { createLogger } from '../util/logger.js';
import { printJson, runCommand } from './run-command.js';

interface Options {
  db?: string;
  suite?: string;
  out: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('generate-report')
    .description('write RESULTS.md, report.html and SVG/PNG/Vega-Lite charts from the tracking database')
    .option(DB_FLAGS, DB_HELP)
    .option('--suite <name>', 'only runs of suites with this name (default: every run)')
    .option('--out <dir>', 'output folder', 'results/report')
    .option('--json', 'print one JSON document on stdout')
    .action((opts: Options) =>
      runCommand('generate-report', opts, async () => {
        const report = await generateReport({ dbPath: opts.db, suite: opts.suite, outDir: opts.out, logger: createLogger() });
        if (opts.json) return printJson(report);
        process.stdout.write(
          `report: ${report.markdownPath} and ${report.htmlPath}\n` +
            `${report.charts.length} charts under ${report.outDir}/charts; ${report.completedRuns} completed run(s)` +
            `${report.failedRuns ? `, ${report.failedRuns} failed` : ''}\n\n` +
            `findings:\n${report.findings.map((f) => `  - ${f.replace(/\*\*/g, '')}`).join('\n')}\n`,
        );
      }),
    );
}
