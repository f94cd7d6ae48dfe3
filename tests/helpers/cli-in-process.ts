import { vi } from 'vitest';
import { runProgram } from '../../src/cli/program.js';

/**
 * Runs the real `lora-study` program in this process (every command registered), capturing
 * stdout and stderr and the exit code it set; cheaper than a child process where the command
 * needs no isolation (refused flags, dry runs).
 */
export async function runInProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  try {
    await runProgram(['node', 'lora-study', ...args]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { code, stdout, stderr };
}
