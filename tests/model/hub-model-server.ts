import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One commit of a model repo: path → content. `*.safetensors` files are served as LFS files. */
export type FakeCommit = Record<string, string | Uint8Array>;

export interface FakeModelRepo {
  /** sha (40 hex) → files. */
  commits: Record<string, FakeCommit>;
  /** branch/tag → sha; `main` must be present. */
  refs: Record<string, string>;
  token?: string;
}

export interface FakeModelHubOptions {
  /** Cut the connection after this many body bytes of the first GET of this file (an interrupted download). */
  interrupt?: { file: string; afterBytes: number };
  /** Serve these bytes instead of the file's own (a corrupted transfer); the headers still name the real etag. */
  corrupt?: { file: string; bytes: Uint8Array };
}

export interface FakeModelHub {
  url: string;
  requests: Array<{ method: string; path: string; authorization?: string; range?: string }>;
  close(): Promise<void>;
}

const isLfs = (p: string) => p.endsWith('.safetensors') || p.endsWith('.bin');
export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
export const gitSha1 = (b: Uint8Array) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
/** The etag huggingface_hub names a blob by: sha256 for LFS files, git's blob sha1 otherwise. */
export const blobEtag = (path: string, b: Uint8Array) => (isLfs(path) ? sha256(b) : gitSha1(b));

/**
 * A real HTTP server on 127.0.0.1 speaking the model side of the Hub as huggingface_hub and
 * @huggingface/hub use it:
 * - GET /api/models/<org>/<name>/revision/<rev> → { id, sha, siblings: [{ rfilename }] };
 * - HEAD /<org>/<name>/resolve/<rev>/<file>: regular files 200 with ETag "<git sha1>",
 *   X-Repo-Commit and Content-Length; LFS files 302 to /lfs/<sha256> with X-Linked-Etag
 *   "<sha256>", X-Linked-Size and X-Repo-Commit (what the Hub answers, its CDN behind it);
 * - GET of the same (and /lfs/<sha256>) with Range: bytes=<start>- support (206).
 * Unknown repos/revisions answer 404 with X-Error-Code; private repos 401 without their token.
 */
export async function startFakeModelHub(repos: Record<string, FakeModelRepo>, opts: FakeModelHubOptions = {}): Promise<FakeModelHub> {
  const requests: FakeModelHub['requests'] = [];
  let interrupted = false;
  const lfs = new Map<string, { path: string; body: Buffer; commit: string }>();
  for (const repo of Object.values(repos)) {
    for (const [sha, files] of Object.entries(repo.commits)) {
      for (const [p, c] of Object.entries(files)) if (isLfs(p)) lfs.set(sha256(Buffer.from(c as string)), { path: p, body: Buffer.from(c as string), commit: sha });
    }
  }
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  };
  const sendBody = (req: IncomingMessage, res: ServerResponse, path: string, body: Buffer, headers: Record<string, string>) => {
    const served = opts.corrupt?.file === path ? Buffer.from(opts.corrupt.bytes) : body;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
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
    res.end(chunk);
  };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const u = new URL(req.url ?? '/', 'http://x');
    requests.push({ method: req.method ?? 'GET', path: u.pathname, authorization: req.headers.authorization, range: req.headers.range });
    const cdn = /^\/lfs\/([0-9a-f]{64})$/.exec(u.pathname);
    if (cdn) {
      const f = lfs.get(cdn[1]);
      if (!f) return json(res, 404, { error: 'not found' });
      return sendBody(req, res, f.path, f.body, { ETag: `"${cdn[1]}"` });
    }
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(u.pathname);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(u.pathname);
    const m = api ?? resolve;
    if (!m) return json(res, 404, { error: 'Not found' });
    const repo = repos[m[1]];
    if (!repo) return json(res, 404, { error: 'Repository not found' }, { 'X-Error-Code': 'RepoNotFound' });
    if (repo.token && req.headers.authorization !== `Bearer ${repo.token}`) return json(res, 401, { error: 'Invalid credentials' }, { 'X-Error-Code': 'RepoNotFound' });
    const rev = decodeURIComponent(m[2]);
    const sha = repo.commits[rev] ? rev : repo.refs[rev];
    const files = sha ? repo.commits[sha] : undefined;
    if (!sha || !files) return json(res, 404, { error: `Invalid rev id: ${rev}` }, { 'X-Error-Code': 'RevisionNotFound' });
    if (api) return json(res, 200, { _id: 'x', id: m[1], sha, siblings: Object.keys(files).map((rfilename) => ({ rfilename })) });
    const path = decodeURIComponent(m[3]);
    if (!(path in files)) return json(res, 404, { error: 'Entry not found' }, { 'X-Error-Code': 'EntryNotFound' });
    const body = Buffer.from(files[path] as string);
    if (isLfs(path)) {
      const oid = sha256(body);
      res.writeHead(302, { Location: `/lfs/${oid}`, 'X-Linked-Etag': `"${oid}"`, 'X-Linked-Size': String(body.length), 'X-Repo-Commit': sha, ETag: `"${gitSha1(Buffer.from(`oid sha256:${oid}`))}"` });
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
