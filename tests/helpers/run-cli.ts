import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI (src/cli/main.ts through tsx) in a child process, as a user would. */
export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', resolve('src/cli/main.ts'), ...args], {
    cwd: opts.cwd ?? process.cwd(),
    env: { ...process.env, LORA_STUDY_LOG_LEVEL: 'warn', ...opts.env },
    encoding: 'utf8',
    timeout: 240_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
