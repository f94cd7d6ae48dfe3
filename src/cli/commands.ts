import type { Command } from 'commander';
import { register as doctor } from './doctor.js';
import { register as prepareDataset } from './prepare-dataset.js';
import { register as generateReport } from './generate-report.js';
import { register as runs } from './runs.js';
import { register as runSingle } from './run-single.js';
import { register as runSuite } from './run-suite.js';
import { register as merge } from './merge.js';
import { register as evaluateModel } from './evaluate-model.js';
import { register as bench } from './bench.js';
import { register as worker } from './worker.js';

/**
 * The whole command table. Each command lives in its own file that exports
 * `register(program)`; add one import and one line here per command.
 */
type Register = (program: Command) => void;

const commands: Register[] = [
  doctor,
  prepareDataset,
  runs,
  generateReport,
  runSingle,
  runSuite,
  merge,
  evaluateModel,
  bench,
  worker,
];

export function registerCommands(program: Command): void {
  for (const register of commands) register(program);
}
