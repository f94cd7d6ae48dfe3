import { execFileSync } from 'node:child_process';

/** One GPU as nvidia-smi reports it; memory in MiB (nvidia-smi's `nounits` unit). */
export interface GpuInfo {
  index: number;
  name: string;
  memoryUsedMiB: number;
  memoryTotalMiB: number;
  driverVersion: string;
}

/** Runs a program and returns its stdout; throws when it is absent or fails. Swappable in tests. */
export type RunProgram = (file: string, args: string[]) => string;

export const runProgram: RunProgram = (file, args) =>
  execFileSync(file, args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });

export const NVIDIA_SMI_ARGS = [
  '--query-gpu=name,memory.used,memory.total,driver_version',
  '--format=csv,noheader,nounits',
];

/** Parses `name, used, total, driver` lines; a GPU name never contains a comma, so splitting is safe. */
export function parseNvidiaSmi(stdout: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.split(',').map((f) => f.trim());
    if (fields.length < 4) continue;
    const [name, used, total, driver] = fields;
    gpus.push({
      index: gpus.length,
      name,
      memoryUsedMiB: Number(used),
      memoryTotalMiB: Number(total),
      driverVersion: driver,
    });
  }
  return gpus;
}

/** The machine's NVIDIA GPUs, or null when nvidia-smi is absent or fails (no driver loaded). */
export function queryGpus(run: RunProgram = runProgram): GpuInfo[] | null {
  try {
    return parseNvidiaSmi(run('nvidia-smi', NVIDIA_SMI_ARGS));
  } catch {
    return null;
  }
}
