import os from 'node:os';

/** The machine facts a model card records next to timings. */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  /** 1-minute load average at the start: other work on the machine slows the run. */
  loadAverage: number;
  platform: string;
  node: string;
}

export function machineInfo(): MachineInfo {
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    loadAverage: os.loadavg()[0],
    platform: `${os.platform()} ${os.arch()}`,
    node: process.version,
  };
}
