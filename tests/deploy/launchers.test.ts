import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';

/** The long flags `lora-study worker` accepts. */
function workerFlags(): Set<string> {
  const worker = buildProgram().commands.find((c) => c.name() === 'worker')!;
  return new Set(worker.options.map((o) => o.long!));
}

describe('deploy launchers run the worker with flags it has', () => {
  it('the Kubernetes Job: a parallel Job of `lora-study worker --until-empty`, the database from a Secret', () => {
    const job = parse(readFileSync('configs/deploy/k8s/worker-job.yaml', 'utf8'));
    expect(job.kind).toBe('Job');
    expect(job.spec.parallelism).toBeGreaterThan(1);
    const [c] = job.spec.template.spec.containers;
    expect(c.command.slice(0, 3)).toEqual(['npx', 'lora-study', 'worker']);
    const flags = workerFlags();
    for (const arg of c.command.slice(3).filter((a: string) => a.startsWith('--'))) expect(flags, arg).toContain(arg);
    expect(c.command).toContain('--until-empty');
    expect(c.env.find((e: { name: string }) => e.name === 'LORA_STUDY_DB').valueFrom.secretKeyRef).toBeDefined();
    expect(c.resources.limits['nvidia.com/gpu']).toBe(1);
  });

  it('the SLURM array: each task runs `lora-study worker --until-empty` on its GPU', () => {
    const text = readFileSync('configs/deploy/slurm/lora-study-worker.sbatch', 'utf8');
    expect(text).toMatch(/^#SBATCH --array=/m);
    expect(text).toMatch(/^#SBATCH --gres=gpu:1/m);
    const cmd = text.slice(text.indexOf('lora-study worker')).split('\n').filter((l) => !l.startsWith('#')).join(' ').replace(/\\/g, ' ');
    const flags = workerFlags();
    for (const arg of cmd.split(/\s+/).filter((a) => a.startsWith('--'))) expect(flags, arg).toContain(arg);
    expect(cmd).toContain('--until-empty');
  });
});
