import { Command, CommanderError } from 'commander';
import { LoraStudyError } from '../util/errors.js';
import { registerCommands } from './commands.js';
import { reportError } from './run-command.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('lora-study')
    .description('LoRA efficiency studies on causal language models (TensorFlow.js)')
    .version('0.1.0')
    // Usage errors (a refused flag value, an unknown option) are reported by runProgram, like
    // every other error: `error during <command>: …`, a hint, exit 1, and the JSON error document.
    .exitOverride()
    .configureOutput({ outputError: () => {} });
  registerCommands(program);
  return program;
}

/** A flag or argument commander refused. */
export class UsageError extends LoraStudyError {}

/** The command a command line names (`runs show`), or the program's name when it names none. */
export function commandPath(program: Command, args: readonly string[]): string {
  const names: string[] = [];
  let cmd = program;
  for (const arg of args) {
    if (arg === '--') break;
    if (arg.startsWith('-')) continue;
    const sub = cmd.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (!sub) break;
    names.push(sub.name());
    cmd = sub;
  }
  return names.length ? names.join(' ') : program.name();
}

/** Parses `argv` and runs the command; a usage error is reported like any failed command. */
export async function runProgram(argv: readonly string[] = process.argv, program: Command = buildProgram()): Promise<void> {
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    process.exitCode = err.exitCode;
    // --help, --version, and the help shown for a bare `lora-study`: nothing more to say.
    if (err.exitCode === 0 || err.code === 'commander.help') return;
    const args = argv.slice(2);
    const name = commandPath(program, args);
    // `error: option '--r <n>' argument '2.9' is invalid. --r (lora.r) must be …`: keep the last part.
    const text = err.message.replace(/^error: /, '');
    const message = /^option '.*' argument '.*' is invalid\. (.*)$/s.exec(text)?.[1] ?? text;
    const hint = `\`lora-study ${name === program.name() ? '' : `${name} `}--help\` lists every flag with its type and range`;
    const json = args.slice(0, args.includes('--') ? args.indexOf('--') : undefined).includes('--json');
    reportError(name, new UsageError(message, { hint }), json);
  }
}
