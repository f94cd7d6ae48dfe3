/**
 * A loopback Hugging Face Hub for tests and benchmarks (nothing downloads from the network): a real
 * HTTP server on 127.0.0.1 serving model and dataset repos in the Hub's URL layout, as
 * huggingface_hub and @huggingface/hub use it:
 * - GET /api/{models,datasets}/<org>/<name>/revision/<rev> → { id, sha, siblings: [{ rfilename }] };
 * - GET /api/{models,datasets}/<org>/<name>/tree/<rev>[/<path>]?recursive=… → JSON entries
 *   ({ type, oid, size, path[, lfs] }, folders too);
 * - HEAD/GET /<org>/<name>/resolve/<rev>/<file> (models) and /datasets/<org>/<name>/resolve/<rev>/<file>:
 *   regular files 200 with ETag "<git blob sha1>", X-Repo-Commit and Content-Length; LFS files
 *   (*.safetensors, *.bin, *.parquet) 302 to /lfs/<sha256> with X-Linked-Etag "<sha256>",
 *   X-Linked-Size and X-Repo-Commit (what the Hub answers, its CDN behind it);
 * - Range: bytes=<start>-[<end>] on every body (206 with Content-Range), unless `ignoreRange`
 *   (a server or proxy that answers every GET with the whole body, 200);
 * - each request is recorded with its status, whether its whole response was sent (`complete`:
 *   false when the client closed the connection first) and the body bytes handed to the socket
 *   (`bodyBytes`; a body over 1 MiB goes out in 256 KiB pieces, each after the previous drained).
 * Unknown repos answer 404 with X-Error-Code RepoNotFound, unknown revisions RevisionNotFound,
 * unknown files EntryNotFound; private repos (`token`) 401 without `Authorization: Bearer <token>`.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One commit of a repo: path → content. */
export type FakeCommit = Record<string, string | Uint8Array>;

/** A repo: either `files` (one commit, on `main`) or `commits` (sha → files) with `refs` (branch/tag → sha). */
export interface FakeRepo {
  files?: FakeCommit;
  commits?: Record<string, FakeCommit>;
  refs?: Record<string, string>;
  /** Makes the repo private: requests need `Authorization: Bearer <token>`. */
  token?: string;
}

export interface FakeHubRepos {
  models?: Record<string, FakeRepo>;
  datasets?: Record<string, FakeRepo>;
}

export interface FakeHubOptions {
  /** Cut the connection after this many body bytes of the first full GET of this file (an interrupted download). */
  interrupt?: { file: string; afterBytes: number };
  /** Serve these bytes instead of the file's own (a corrupted transfer); the headers still name the real etag. */
  corrupt?: { file: string; bytes: Uint8Array };
  /** Answer every request with the whole body (200), Range headers ignored. */
  ignoreRange?: boolean;
}

export interface FakeHub {
  url: string;
  requests: Array<{ method: string; path: string; authorization?: string; range?: string; status?: number; complete?: boolean; bodyBytes?: number }>;
  close(): Promise<void>;
}

const isLfs = (p: string) => p.endsWith('.safetensors') || p.endsWith('.bin') || p.endsWith('.parquet');
export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
export const gitSha1 = (b: Uint8Array) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
/** The etag huggingface_hub names a blob by: sha256 for LFS files, git's blob sha1 otherwise. */
export const blobEtag = (path: string, b: Uint8Array) => (isLfs(path) ? sha256(b) : gitSha1(b));
const lfsPointer = (b: Uint8Array) => Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(b)}\nsize ${b.length}\n`);

interface Repo {
  commits: Record<string, FakeCommit>;
  refs: Record<string, string>;
  token?: string;
}

function normalize(repo: FakeRepo): Repo {
  if (!repo.files) return { commits: repo.commits ?? {}, refs: repo.refs ?? {}, token: repo.token };
  const h = createHash('sha1');
  for (const [p, c] of Object.entries(repo.files)) h.update(p).update('\0').update(c).update('\0');
  const sha = h.digest('hex');
  return { commits: { [sha]: repo.files }, refs: { main: sha }, token: repo.token };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

/** The entries of a tree listing below `path`, folders included, as the Hub's tree API lists them. */
function treeEntries(files: FakeCommit, path: string, recursive: boolean): unknown[] {
  const prefix = path ? `${path}/` : '';
  const entries = new Map<string, unknown>();
  const folder = (p: string) => entries.set(p, { type: 'directory', oid: '0'.repeat(40), size: 0, path: p });
  for (const p of Object.keys(files).filter((f) => f.startsWith(prefix))) {
    const rest = p.slice(prefix.length).split('/');
    if (rest.length > 1 && !recursive) {
      folder(prefix + rest[0]);
      continue;
    }
    for (let i = 1; i < rest.length; i++) folder(prefix + rest.slice(0, i).join('/'));
    const b = Buffer.from(files[p]);
    if (!isLfs(p)) entries.set(p, { type: 'file', oid: gitSha1(b), size: b.length, path: p });
    else {
      const pointer = lfsPointer(b);
      entries.set(p, { type: 'file', oid: gitSha1(pointer), size: b.length, path: p, lfs: { oid: sha256(b), size: b.length, pointerSize: pointer.length } });
    }
  }
  return [...entries.values()];
}

export async function startFakeHub(repos: FakeHubRepos, opts: FakeHubOptions = {}): Promise<FakeHub> {
  const requests: FakeHub['requests'] = [];
  const byKind: Record<'models' | 'datasets', Record<string, Repo>> = {
    models: Object.fromEntries(Object.entries(repos.models ?? {}).map(([k, r]) => [k, normalize(r)])),
    datasets: Object.fromEntries(Object.entries(repos.datasets ?? {}).map(([k, r]) => [k, normalize(r)])),
  };
  // The CDN: LFS blobs by sha256, whichever repo holds them.
  const lfs = new Map<string, { path: string; body: Buffer }>();
  for (const kind of Object.values(byKind)) {
    for (const repo of Object.values(kind)) {
      for (const files of Object.values(repo.commits)) {
        for (const [p, c] of Object.entries(files)) if (isLfs(p)) lfs.set(sha256(Buffer.from(c)), { path: p, body: Buffer.from(c) });
      }
    }
  }
  let interrupted = false;
  const records = new WeakMap<IncomingMessage, FakeHub['requests'][number]>();
  const record = (req: IncomingMessage) => records.get(req)!;
  const sendBody = (req: IncomingMessage, res: ServerResponse, path: string, body: Buffer, headers: Record<string, string>) => {
    const served = opts.corrupt?.file === path ? Buffer.from(opts.corrupt.bytes) : body;
    const range = opts.ignoreRange ? null : /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    let start = 0;
    let end = served.length - 1;
    if (range) {
      start = Number(range[1]);
      if (range[2]) end = Math.min(Number(range[2]), end);
    }
    const chunk = served.subarray(start, end + 1);
    res.writeHead(range ? 206 : 200, {
      ...headers,
      'Content-Length': String(chunk.length),
      'Accept-Ranges': 'bytes',
      'Content-Type': 'application/octet-stream',
      ...(range ? { 'Content-Range': `bytes ${start}-${end}/${served.length}` } : {}),
    });
    if (req.method === 'HEAD') return void res.end();
    if (opts.interrupt?.file === path && !interrupted && !range) {
      interrupted = true;
      // Let the client read what was sent, then drop the connection mid-body.
      res.write(chunk.subarray(0, opts.interrupt.afterBytes), () => setTimeout(() => res.destroy(), 100));
      return;
    }
    if (chunk.length <= 2 ** 20) {
      record(req).bodyBytes = chunk.length;
      return void res.end(chunk);
    }
    // Piece by piece, waiting for each to drain: a client that stops reading stops the sending.
    const rec = record(req);
    rec.bodyBytes = 0;
    const PIECE = 256 * 1024;
    const pump = (at: number): void => {
      while (at < chunk.length) {
        if (res.destroyed) return;
        const piece = chunk.subarray(at, at + PIECE);
        at += piece.length;
        rec.bodyBytes! += piece.length;
        if (at >= chunk.length) return void res.end(piece);
        if (!res.write(piece)) return void res.once('drain', () => pump(at));
      }
    };
    pump(0);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const u = new URL(req.url ?? '/', 'http://x');
    const record: FakeHub['requests'][number] = { method: req.method ?? 'GET', path: u.pathname, authorization: req.headers.authorization, range: req.headers.range };
    requests.push(record);
    records.set(req, record);
    res.on('close', () => {
      record.status = res.statusCode;
      record.complete = res.writableFinished;
    });
    const cdn = /^\/lfs\/([0-9a-f]{64})$/.exec(u.pathname);
    if (cdn) {
      const f = lfs.get(cdn[1]);
      if (!f) return json(res, 404, { error: 'not found' });
      return sendBody(req, res, f.path, f.body, { ETag: `"${cdn[1]}"` });
    }
    // [kind, repo, endpoint, rev, path]
    let route: ['models' | 'datasets', string, 'revision' | 'tree' | 'resolve', string, string] | null = null;
    let m: RegExpExecArray | null;
    if ((m = /^\/api\/(models|datasets)\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(u.pathname))) route = [m[1] as 'models', m[2], 'revision', m[3], ''];
    else if ((m = /^\/api\/(models|datasets)\/([^/]+\/[^/]+)\/tree\/([^/]+)(?:\/(.*))?$/.exec(u.pathname))) route = [m[1] as 'models', m[2], 'tree', m[3], m[4] ?? ''];
    else if ((m = /^\/datasets\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(u.pathname))) route = ['datasets', m[1], 'resolve', m[2], m[3]];
    else if ((m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(u.pathname))) route = ['models', m[1], 'resolve', m[2], m[3]];
    if (!route) return json(res, 404, { error: 'Not found' });
    const [kind, name, endpoint] = route;
    const repo = byKind[kind][name];
    if (!repo) return json(res, 404, { error: 'Repository not found' }, { 'X-Error-Code': 'RepoNotFound' });
    if (repo.token && req.headers.authorization !== `Bearer ${repo.token}`) {
      return json(res, 401, { error: 'Invalid credentials in Authorization header' }, { 'X-Error-Code': 'RepoNotFound' });
    }
    const rev = decodeURIComponent(route[3]);
    const sha = repo.commits[rev] ? rev : repo.refs[rev];
    const files = sha ? repo.commits[sha] : undefined;
    if (!sha || !files) return json(res, 404, { error: `Invalid rev id: ${rev}` }, { 'X-Error-Code': 'RevisionNotFound' });
    const path = decodeURIComponent(route[4]);
    if (endpoint === 'revision') return json(res, 200, { _id: 'x', id: name, sha, siblings: Object.keys(files).map((rfilename) => ({ rfilename })) });
    if (endpoint === 'tree') return json(res, 200, treeEntries(files, path, u.searchParams.get('recursive') === 'true'));
    if (!(path in files)) return json(res, 404, { error: 'Entry not found' }, { 'X-Error-Code': 'EntryNotFound' });
    const body = Buffer.from(files[path]);
    if (isLfs(path)) {
      const oid = sha256(body);
      res.writeHead(302, { Location: `/lfs/${oid}`, 'X-Linked-Etag': `"${oid}"`, 'X-Linked-Size': String(body.length), 'X-Repo-Commit': sha, ETag: `"${gitSha1(lfsPointer(body))}"` });
      return void res.end();
    }
    sendBody(req, res, path, body, { ETag: `"${gitSha1(body)}"`, 'X-Repo-Commit': sha });
  };

  const server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r, j) => {
        server.closeAllConnections();
        server.close((e) => (e ? j(e) : r()));
      }),
  };
}
