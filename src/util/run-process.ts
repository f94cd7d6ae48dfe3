import { spawn } from 'node:child_process';

export interface ProcessResult {
  /** Exit code, or null when a signal ended it (or it never started). */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Set when the program could not be started (not found, not executable) or ran past its timeout. */
  error?: Error;
}

/**
 * Runs a program to completion without blocking the event loop (a long spawnSync stalls loggers,
 * progress bars and test workers): stdin from `input`, stdout/stderr collected as text, killed
 * after `timeoutMs`.
 */
export function runProcess(file: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let error: Error | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          error = new Error(`timed out after ${opts.timeoutMs! / 1000} s`);
          child.kill('SIGKILL');
        }, opts.timeoutMs)
      : undefined;
    child.on('error', (err) => (error ??= err));
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, ...(error ? { error } : {}) });
    });
    child.stdin.on('error', () => {}); // a program that exits without reading its input
    child.stdin.end(opts.input ?? '');
  });
}
