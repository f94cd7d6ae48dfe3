import type { Command } from 'commander';
import { register as doctor } from './doctor.js';
import { register as prepareDataset } from './prepare-dataset.js';
import { register as runs } from './runs.js';

/**
 * The whole command table. Each command lives in its own file that exports
 * `register(program)`; add one import and one line here per command.
 */
type Register = (program: Command) => void;

const commands: Register[] = [
  doctor,
  prepareDataset,
  runs,
];

export function registerCommands(program: Command): void {
  for (const register of commands) register(program);
}
