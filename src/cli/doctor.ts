import type { Command } from 'commander';
import { formatDoctorReport } from '../engine/doctor-format.js';
import { runDoctor } from '../engine/doctor.js';
import { createLogger } from '../util/logger.js';
import { printJson, runCommand } from './run-command.js';

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check which tfjs backends work here, the GPU, WebGPU adapters and CUDA libraries, and what to fix')
    .option('--json', 'print one JSON document instead of the table (boolean, default: false)')
    .action(async (opts: { json?: boolean }) => {
      await runCommand('doctor', opts, async () => {
        const report = await runDoctor({ logger: createLogger({ level: 'warn' }) });
        if (opts.json) printJson(report);
        else process.stdout.write(`${formatDoctorReport(report)}\n`);
      });
    });
}
