import type { Command } from 'commander';

/**
 * The whole command table. Each command lives in its own file that exports
 * `register(program)`; add one import and one line here per command.
 */
type Register = (program: Command) => void;

const commands: Register[] = [];

export function registerCommands(program: Command): void {
  for (const register of commands) register(program);
}
