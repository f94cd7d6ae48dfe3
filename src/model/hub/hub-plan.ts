/**
 * What a dry-run plan knows of each Hub model whose weights are not in the cache: config.json
 * (prefetchModelConfigs) checked against the safetensors headers of its weight files, fetched
 * with Range requests (or read from their cache), never the weights; and the note the plan ends
 * with, saying which it was and, when the headers could not be read, why.
 */
import { describeHubError } from './errors.js';
import { hubSettings, type HubAccessOptions } from './hub-access.js';
import { cachedHeaderReader, fetchHubSafetensorsHeaders, readCachedHubHeaders, type HubHeaderFetch } from './hub-safetensors-headers.js';
import { parseHubModelId } from './model-id.js';
import { cachedHubModel } from './resolve-model.js';
import type { ReadWeightHeader } from '../checkpoint-shapes.js';

/** Per Hub id: the headers fetched (or read from their cache), or why they were not. */
export type HubHeaderOutcome = ({ ok: true } & Omit<HubHeaderFetch, 'headers'> & { files: number }) | { ok: false; why: string };

/**
 * Fetches the safetensors headers of each Hub id whose config.json is cached but whose weights
 * are not (run after prefetchModelConfigs). A failure never fails the plan: it is the outcome's `why`.
 */
export async function prefetchSafetensorsHeaders(specs: string[], opts: HubAccessOptions = {}): Promise<Map<string, HubHeaderOutcome>> {
  const out = new Map<string, HubHeaderOutcome>();
  const s = hubSettings(opts);
  for (const spec of new Set(specs)) {
    const ref = parseHubModelId(spec);
    const hit = ref && cachedHubModel(ref, { cacheDir: s.cacheDir, parts: 'model' });
    if (!hit || hit.missing.length === 0) continue; // config not cached (the row says why), or the weights are
    try {
      const f = await fetchHubSafetensorsHeaders({ repo: hit.repo, sha: hit.sha, dir: hit.dir }, opts);
      out.set(spec, { ok: true, files: f.headers.files.length, fromCache: f.fromCache, requests: f.requests, bytes: f.bytes, rangeIgnored: f.rangeIgnored });
    } catch (err) {
      s.logger.info({ model: spec, err: describeHubError(err) }, 'safetensors headers not read; planning from config.json alone');
      out.set(spec, { ok: false, why: describeHubError(err) });
    }
  }
  return out;
}

/**
 * For a Hub id planned without its weights in the cache: the cached headers of its weight files
 * as checkCheckpointShapes reads them, or null when they are not cached.
 */
export function hubHeaderCheck(spec: string, opts: Pick<HubAccessOptions, 'cacheDir'> = {}): { label: string; files: string[]; read: ReadWeightHeader } | null {
  const ref = parseHubModelId(spec);
  const hit = ref && cachedHubModel(ref, { cacheDir: opts.cacheDir, parts: 'config' });
  if (!hit) return null;
  const c = readCachedHubHeaders(hubSettings(opts).cacheDir, hit.repo, hit.sha);
  return c && { label: `model ${hit.repo}@${hit.sha.slice(0, 12)} (safetensors headers read from the Hub)`, ...cachedHeaderReader(c) };
}

const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;

/** A note for each Hub id a dry-run plans without its weights in the cache: what its config was checked against. */
export function hubPlanNotes(specs: string[], opts: Pick<HubAccessOptions, 'cacheDir'> & { headers?: Map<string, HubHeaderOutcome> } = {}): string[] {
  const notes: string[] = [];
  for (const spec of new Set(specs)) {
    const ref = parseHubModelId(spec);
    const hit = ref && cachedHubModel(ref, { cacheDir: opts.cacheDir, parts: 'model' });
    if (!hit || hit.missing.length === 0) continue;
    const id = `${hit.repo}@${hit.sha.slice(0, 12)}`;
    const o = opts.headers?.get(spec);
    const cached = readCachedHubHeaders(hubSettings(opts).cacheDir, hit.repo, hit.sha);
    if (cached && (!o || o.ok)) {
      const n = cached.files.length;
      const how = !o || o.fromCache
        ? 'read from the header cache, no request'
        : `fetched with ${o.requests} HTTP Range request${o.requests === 1 ? '' : 's'}, ${kib(o.bytes)}${o.rangeIgnored.length ? `; the server ignored Range for ${o.rangeIgnored.join(', ')}, so its response was closed after the header` : ''}`;
      notes.push(`${id}: config.json checked against the safetensors headers of its ${n === 1 ? 'weight file' : `${n} weight files`} (${how}); the weights are not in the cache and a dry-run does not download them`);
    } else {
      const why = o && !o.ok ? o.why : 'they were not fetched';
      notes.push(`${id}: planned from config.json alone: its safetensors headers were not read (${why}); the run downloads the weights and checks the config against them`);
    }
  }
  return notes;
}
