import type { RunStore } from '../../src/tracking/index.js';

/**
 * Copies every suite and run (with steps, metrics, artifacts, status, error, wall time) from one
 * store into an empty other, through the RunStore API only: the same runs in two databases.
 * Ids match when the target is fresh (both assign them in order).
 */
export async function copyStore(from: RunStore, to: RunStore): Promise<void> {
  const suiteIds = new Map<number, number>();
  for (const s of await from.listSuites()) {
    const id = await to.createSuite({ name: s.name, config: s.config, configHash: s.configHash });
    if (s.status !== 'running') await to.finishSuite(id, s.status);
    suiteIds.set(s.id, id);
  }
  for (const r of await from.listRuns()) {
    const d = (await from.getRun(r.id))!;
    const id = await to.startRun({
      suiteId: d.suiteId === null ? null : suiteIds.get(d.suiteId)!, name: d.name, experimentType: d.experimentType, config: d.config,
      configHash: d.configHash, seed: d.seed, variant: d.variant, variedPath: d.variedPath, variedValue: d.variedValue, rank: d.rank,
      targetModules: d.targetModules, quantization: d.quantization, model: d.model, dataset: d.dataset, backend: d.backend,
      device: d.device, packageVersions: d.packageVersions, gitCommit: d.gitCommit, status: d.status === 'queued' ? 'queued' : 'running',
    });
    await to.logSteps(id, d.steps);
    const values = Object.fromEntries(Object.entries(d.metrics).map(([k, m]) => [k, m.value]));
    const units = Object.fromEntries(Object.entries(d.metrics).flatMap(([k, m]) => (m.unit ? [[k, m.unit]] : [])));
    await to.recordMetrics(id, values, units);
    for (const a of d.artifacts) await to.addArtifact(id, a.kind, a.path, a.bytes ?? undefined);
    if (d.status === 'completed' || d.status === 'failed' || d.status === 'interrupted') {
      await to.finishRun(id, { status: d.status, error: d.error, wallTimeS: d.wallTimeS });
    }
  }
}
