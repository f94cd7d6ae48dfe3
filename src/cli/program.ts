import { Command } from 'commander';
import { registerCommands } from './commands.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('lora-study')
    .description('LoRA efficiency studies on causal language models (TensorFlow.js)')
    .version('0.1.0')
    .showHelpAfterError();
  registerCommands(program);
  return program;
}
