/**
 * The safetensors headers of a Hub model's weight files, read over HTTP without the weights: each
 * file is asked for its first 64 KiB with a Range request (a header is usually a few KB: 8 bytes
 * of length, then the JSON of every tensor's dtype, shape and offsets), and for the rest of the
 * header in a second Range request only when it is longer. The headers are kept beside the
 * repo's cache folder, keyed by commit sha, so a second dry-run makes no request:
 *   <cache>/models--<org>--<name>/.lora-study/safetensors-headers/<sha>.json
 * (outside snapshots/, which huggingface_hub scans as the repo's files).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { isNetworkError } from '../../util/network-error.js';
import { assertRelativePath } from '../../util/path-segment.js';
import { WEIGHTS_FILE, WEIGHTS_INDEX_FILE } from '../checkpoint.js';
import { localWeightFiles, type ReadWeightHeader } from '../checkpoint-shapes.js';
import { parseSafetensorsHeader, safetensorsHeaderLength } from '../safetensors.js';
import { isFile, repoCacheDir } from './cache-layout.js';
import { HubModelError } from './errors.js';
import { hubFileUrl, hubSettings, hubStatusHint, type HubAccessOptions, type HubSettings } from './hub-access.js';

/** The first request asks for this many bytes; a longer header takes one more request for the rest. */
export const HEADER_PROBE_BYTES = 64 * 1024;
/** A header read that takes longer gives up (the plan notes it): a dry-run must not hang on a stalled server. */
const REQUEST_TIMEOUT_MS = 60_000;
/** The index of a sharded checkpoint is a small JSON file; a larger answer is refused. */
const MAX_INDEX_BYTES = 50_000_000;

const cacheSchema = z.object({
  format: z.literal(1),
  repo: z.string(),
  sha: z.string(),
  /** Each weight file: its size in bytes and its header's JSON text (the N bytes after the length). */
  files: z.array(z.object({ file: z.string(), size: z.number().int().nonnegative(), header: z.string() })).min(1),
});
export type HubHeaderCache = z.infer<typeof cacheSchema>;

/** What fetching took: requests, bytes received, and whether a server ignored Range. */
export interface HubHeaderFetch {
  headers: HubHeaderCache;
  fromCache: boolean;
  requests: number;
  bytes: number;
  /** Files whose server answered the whole body to a Range request (read up to the header's end, then closed). */
  rangeIgnored: string[];
}

export function headerCachePath(cacheDir: string, repo: string, sha: string): string {
  return join(repoCacheDir(cacheDir, repo), '.lora-study', 'safetensors-headers', `${sha}.json`);
}

/** The cached headers of `repo` at `sha`, or null (none, or a damaged file, which a fetch replaces). */
export function readCachedHubHeaders(cacheDir: string, repo: string, sha: string): HubHeaderCache | null {
  const p = headerCachePath(cacheDir, repo, sha);
  if (!existsSync(p)) return null;
  try {
    const c = cacheSchema.parse(JSON.parse(readFileSync(p, 'utf8')));
    return c.repo === repo && c.sha === sha ? c : null;
  } catch {
    return null;
  }
}

/** The cached headers as checkCheckpointShapes reads them; errors name `<repo>@<sha12>/<file>`. */
export function cachedHeaderReader(c: HubHeaderCache): { files: string[]; read: ReadWeightHeader } {
  const byFile = new Map(c.files.map((f) => [f.file, f]));
  return {
    files: c.files.map((f) => f.file),
    read: (file, skip) => {
      const f = byFile.get(file)!;
      return parseSafetensorsHeader(`${c.repo}@${c.sha.slice(0, 12)}/${file} (header from the Hub)`, Buffer.from(f.header, 'utf8'), f.size, { skip });
    },
  };
}

interface Target {
  repo: string;
  sha: string;
  /** snapshots/<sha>: an index already there names the shards with no request. */
  dir: string;
}

/**
 * The headers of every weight file of `t` (model.safetensors, or the shards of
 * model.safetensors.index.json): from the cache when it holds them, else over HTTP (at most two
 * Range requests per file, plus the index for a sharded model whose snapshot lacks it), then cached.
 */
export async function fetchHubSafetensorsHeaders(t: Target, opts: HubAccessOptions = {}): Promise<HubHeaderFetch> {
  const s = hubSettings(opts);
  const cached = readCachedHubHeaders(s.cacheDir, t.repo, t.sha);
  if (cached) return { headers: cached, fromCache: true, requests: 0, bytes: 0, rangeIgnored: [] };
  if (s.offline) throw new HubModelError(`HF_HUB_OFFLINE=1 forbids requests, and the safetensors headers of ${t.repo}@${t.sha.slice(0, 12)} are not in the cache`);
  const stats = { requests: 0, bytes: 0, rangeIgnored: [] as string[] };
  const http = new HeaderHttp(s, t, stats);
  let files: string[];
  let first: { size: number; header: string } | null = null;
  if (isFile(join(t.dir, WEIGHTS_INDEX_FILE))) files = localWeightFiles(t.dir);
  else {
    first = await http.header(WEIGHTS_FILE, true);
    files = first ? [WEIGHTS_FILE] : await http.shardList();
  }
  const out: HubHeaderCache = { format: 1, repo: t.repo, sha: t.sha, files: [] };
  for (const f of files) {
    const h = f === WEIGHTS_FILE && first ? first : await http.header(f, false);
    out.files.push({ file: f, ...h! });
  }
  await writeFileAtomic(headerCachePath(s.cacheDir, t.repo, t.sha), `${JSON.stringify(out)}\n`);
  return { headers: out, fromCache: false, ...stats };
}

/** The requests one fetch makes, counted; every failure is a HubModelError naming the URL. */
class HeaderHttp {
  constructor(
    private readonly s: HubSettings,
    private readonly t: Target,
    private readonly stats: { requests: number; bytes: number; rangeIgnored: string[] },
  ) {}

  private async get(file: string, range?: string): Promise<{ res: Response; url: string }> {
    const url = hubFileUrl(this.s.endpoint, this.t.repo, this.t.sha, file);
    this.stats.requests++;
    try {
      const res = await this.s.fetch(url, { headers: { ...this.s.auth, 'Accept-Encoding': 'identity', ...(range ? { Range: range } : {}) }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      return { res, url };
    } catch (err) {
      if (isNetworkError(err)) {
        const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
        throw new HubModelError(`could not reach the Hub at ${this.s.endpoint} (${code}) to read the safetensors header of ${this.t.repo}/${file}`, { cause: err });
      }
      if ((err as Error)?.name === 'TimeoutError') throw new HubModelError(`${url} did not answer within ${REQUEST_TIMEOUT_MS / 1000} s (reading the safetensors header of ${this.t.repo}/${file})`, { cause: err });
      throw err;
    }
  }

  private refuse(file: string, url: string, res: Response): never {
    void res.body?.cancel();
    throw new HubModelError(`reading the safetensors header of ${this.t.repo}/${file}: HTTP ${res.status} from ${url}`, { hint: hubStatusHint(res.status) });
  }

  /** Reads `res`'s body until `want` bytes came (then closes it) or it ends. */
  private async readUpTo(res: Response, want: number | ((got: Buffer) => number)): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let got = 0;
    const reader = res.body!.getReader();
    try {
      for (;;) {
        const limit = typeof want === 'number' ? want : want(Buffer.concat(chunks, got));
        if (got >= limit) break;
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(Buffer.from(value));
        got += value.length;
        this.stats.bytes += value.length;
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
    return Buffer.concat(chunks, got);
  }

  /**
   * One file's size and header JSON. With `optional`, a file the repo lacks (404) gives null
   * (model.safetensors of a sharded repo).
   */
  async header(file: string, optional: boolean): Promise<{ size: number; header: string } | null> {
    const label = `${this.t.repo}@${this.t.sha.slice(0, 12)}/${file}`;
    const { res, url } = await this.get(file, `bytes=0-${HEADER_PROBE_BYTES - 1}`);
    if (optional && res.status === 404) {
      void res.body?.cancel();
      return null;
    }
    let size: number;
    let buf: Buffer;
    if (res.status === 206) {
      const total = /\/(\d+)\s*$/.exec(res.headers.get('content-range') ?? '');
      if (!total) {
        void res.body?.cancel();
        throw new HubModelError(`${url} answered a Range request with no file size in Content-Range (${res.headers.get('content-range')})`);
      }
      size = Number(total[1]);
      buf = await this.readUpTo(res, HEADER_PROBE_BYTES);
    } else if (res.status === 200) {
      // A server ignoring Range sends the whole file: read up to the header's end, then close.
      size = Number(res.headers.get('content-length'));
      if (!res.headers.get('content-length') || !Number.isSafeInteger(size)) {
        void res.body?.cancel();
        throw new HubModelError(`${url} ignored the Range request and sent no Content-Length; its header was not read (a whole weight file is not downloaded for a dry-run)`);
      }
      this.stats.rangeIgnored.push(file);
      buf = await this.readUpTo(res, (b) => (b.length < 8 ? 8 : 8 + safetensorsHeaderLength(label, b.subarray(0, 8), size)));
    } else return this.refuse(file, url, res);
    const n = safetensorsHeaderLength(label, buf.subarray(0, 8), size);
    if (buf.length < 8 + n) {
      const { res: rest, url: u2 } = await this.get(file, `bytes=${buf.length}-${8 + n - 1}`);
      if (rest.status !== 206) {
        if (rest.status < 400) void rest.body?.cancel();
        if (rest.status >= 400) return this.refuse(file, u2, rest);
        throw new HubModelError(`${u2} answered the second Range request (the rest of a ${n}-byte header) with HTTP ${rest.status}, not 206`);
      }
      buf = Buffer.concat([buf, await this.readUpTo(rest, 8 + n - buf.length)]);
      if (buf.length < 8 + n) throw new HubModelError(`${u2} ended after ${buf.length} of the header's ${8 + n} bytes`);
    }
    const headerBytes = buf.subarray(8, 8 + n);
    parseSafetensorsHeader(label, headerBytes, size, { skip: () => true }); // valid JSON, offsets inside the file
    return { size, header: headerBytes.toString('utf8') };
  }

  /** The shards model.safetensors.index.json lists (sorted), fetched whole: it is small. */
  async shardList(): Promise<string[]> {
    const file = WEIGHTS_INDEX_FILE;
    const { res, url } = await this.get(file);
    if (res.status === 404) {
      void res.body?.cancel();
      throw new HubModelError(`${this.t.repo}@${this.t.sha.slice(0, 12)} has neither ${WEIGHTS_FILE} nor ${WEIGHTS_INDEX_FILE} (${url}: HTTP 404)`);
    }
    if (res.status !== 200) return this.refuse(file, url, res);
    const body = await this.readUpTo(res, MAX_INDEX_BYTES + 1);
    if (body.length > MAX_INDEX_BYTES) throw new HubModelError(`${url} is over ${MAX_INDEX_BYTES} bytes: not a weight index`);
    let shards: string[];
    try {
      const index = JSON.parse(body.toString('utf8')) as { weight_map?: Record<string, string> };
      shards = [...new Set(Object.values(index.weight_map ?? {}))].sort();
    } catch (err) {
      throw new HubModelError(`${url} is not valid JSON (${(err as Error).message})`);
    }
    if (shards.length === 0) throw new HubModelError(`${url} lists no shard in weight_map`);
    for (const f of shards) assertRelativePath(f, `shard listed in ${this.t.repo}/${file}`);
    return shards;
  }
}
