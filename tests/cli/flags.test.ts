import { type Command, InvalidArgumentError } from 'commander';
import { afterEach, describe, expect, test } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { runInProcess } from '../helpers/cli-in-process.js';

const cli = runInProcess;

afterEach(() => {
  process.exitCode = 0;
});

function option(program: Command, command: string, flag: string) {
  const cmd = program.commands.find((c) => c.name() === command)!;
  const opt = cmd.options.find((o) => o.long === flag);
  if (!opt?.parseArg) throw new Error(`${command} ${flag} has no parser`);
  return (raw: string) => opt.parseArg!(raw, undefined as never) as number;
}

describe('numeric flags', () => {
  test.each([
    ['run-single', ['--r', '2.9'], /--r \(lora\.r\) must be a whole number; got "2\.9"/],
    ['run-single', ['--steps', '0'], /--steps \(training\.max_steps\) must be > 0/],
    ['run-single', ['--threads', 'abc'], /--threads must be a number/],
    ['run-single', ['--lr', '-1e-4'], /--lr \(training\.learning_rate\) must be > 0/],
    ['run-single', ['--dropout', '1'], /--dropout \(lora\.lora_dropout\) must be < 1/],
    ['run-single', ['--seq-len', '1'], /--seq-len \(training\.max_seq_len\) must be ≥ 2/],
    ['run-single', ['--steps', '0x10'], /--steps .* must be a number/],
    ['run-single', ['--steps', ''], /--steps .* must be a number/],
    ['evaluate-model', ['--batch-size', '0'], /--batch-size must be > 0/],
    ['evaluate-model', ['--temperature', '-1'], /--temperature must be ≥ 0/],
    ['evaluate-model', ['--top-p', '5'], /--top-p must be ≤ 1/],
    ['evaluate-model', ['--top-p', '0'], /--top-p must be > 0/],
    ['evaluate-model', ['--run', '1.5'], /--run must be a whole number/],
    ['run-suite', ['x.yaml', '--threads', '0'], /--threads must be ≥ 1/],
    ['bench', ['--steps', '2'], /--steps must be ≥ 3/],
    ['prepare-dataset', ['--dataset', 'd', '--model', 'm', '--eval-fraction', '1'], /--eval-fraction must be < 1/],
    ['prepare-dataset', ['--dataset', 'd', '--model', 'm', '--num-samples', '1e1000'], /--num-samples must be a number/],
  ])('%s %j is refused, naming the flag, with one JSON error document under --json', async (command, args, pattern) => {
    const r = await cli([command, ...args, '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error during ${command}: `));
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr).toContain(`hint: \`lora-study ${command} --help\``);
    const doc = JSON.parse(r.stdout) as { error: { command: string; type: string; message: string } };
    expect(doc.error).toMatchObject({ command, type: 'UsageError' });
    expect(doc.error.message).toMatch(pattern);
  });

  test('exponent notation is read whole: --steps 1e3 is 1000 steps, --lr 2e-4 is 0.0002', () => {
    const program = buildProgram();
    expect(option(program, 'run-single', '--steps')('1e3')).toBe(1000);
    expect(option(program, 'run-single', '--r')('16')).toBe(16);
    expect(option(program, 'run-single', '--lr')('2e-4')).toBe(0.0002);
    expect(option(program, 'evaluate-model', '--top-p')('0.9')).toBe(0.9);
    expect(option(program, 'evaluate-model', '--temperature')('0')).toBe(0);
  });

  test('every option of every command that takes a number refuses text that is not one, naming itself', () => {
    const program = buildProgram();
    const numeric: string[] = [];
    for (const cmd of program.commands) {
      for (const opt of cmd.options) {
        // Value placeholders <n>, <x>, <p>, <t>, <f>, <id> are the numeric flags.
        const isNumeric = /<(n|x|p|t|f|id)>/.test(opt.flags);
        expect(/\((int|number)\b/.test(opt.description) && !isNumeric, `${cmd.name()} ${opt.flags} says it takes a number`).toBe(false);
        if (!isNumeric) continue;
        expect(opt.parseArg, `${cmd.name()} ${opt.long} has no parser: its value would reach the command as text`).toBeDefined();
        numeric.push(`${cmd.name()} ${opt.long}`);
        let thrown: unknown;
        try {
          opt.parseArg!('abc', undefined as never);
        } catch (e) {
          thrown = e;
        }
        expect(thrown, `${cmd.name()} ${opt.long} accepted "abc"`).toBeInstanceOf(InvalidArgumentError);
        expect((thrown as Error).message).toContain(opt.long!);
      }
    }
    expect(numeric.length).toBeGreaterThanOrEqual(25);
  });
});

describe('usage errors', () => {
  test('an unknown option is reported like any error, with --json as one document', async () => {
    const r = await cli(['run-single', '--bogus', '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error during run-single: unknown option '--bogus'/);
    expect(JSON.parse(r.stdout).error).toMatchObject({ command: 'run-single', type: 'UsageError' });
  });

  test('--help and --version still exit 0 and print on stdout', async () => {
    const v = await cli(['--version']);
    expect(v).toMatchObject({ code: 0, stderr: '' });
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
