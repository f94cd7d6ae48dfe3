import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A dataset repo the fake Hub serves: path → content; `token` makes it private. */
export interface FakeRepo {
  files: Record<string, string | Uint8Array>;
  token?: string;
}

export interface FakeHub {
  url: string;
  requests: Array<{ method: string; path: string; authorization?: string; range?: string }>;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

/**
 * A real HTTP server on 127.0.0.1 speaking the part of the Hub API that @huggingface/hub's
 * listFiles and downloadFile use (read from its source):
 * - GET /api/datasets/<owner>/<name>/tree/<rev>[/<path>]?recursive=… → JSON entries;
 * - GET /datasets/<owner>/<name>/resolve/<rev>/<path>, first with `Range: bytes=0-0` (206, with
 *   Content-Range and ETag, from which the client learns the size), then in full.
 * Missing repos answer 404 with X-Error-Code RepoNotFound; private ones 401 without their token.
 */
export async function startFakeHub(repos: Record<string, FakeRepo>): Promise<FakeHub> {
  const requests: FakeHub['requests'] = [];
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const u = new URL(req.url ?? '/', 'http://x');
    requests.push({ method: req.method ?? 'GET', path: u.pathname, authorization: req.headers.authorization, range: req.headers.range });
    const m = /^\/(api\/)?datasets\/([^/]+\/[^/]+)\/(tree|resolve)\/([^/]+)(?:\/(.*))?$/.exec(u.pathname);
    if (!m || (m[1] === undefined) !== (m[3] === 'resolve')) return json(res, 404, { error: 'Not found' });
    const [, , repoName, kind, , rawPath = ''] = m;
    const path = decodeURIComponent(rawPath);
    const repo = repos[repoName];
    if (!repo) return json(res, 404, { error: 'Repository not found' }, { 'X-Error-Code': 'RepoNotFound' });
    if (repo.token && req.headers.authorization !== `Bearer ${repo.token}`) {
      return json(res, 401, { error: 'Invalid credentials in Authorization header' }, { 'X-Error-Code': 'RepoNotFound' });
    }
    const bytes = (p: string): Buffer => Buffer.from(repo.files[p] as string | Uint8Array);
    if (kind === 'tree') {
      const recursive = u.searchParams.get('recursive') === 'true';
      const prefix = path ? `${path}/` : '';
      const entries = new Map<string, unknown>();
      for (const p of Object.keys(repo.files).filter((f) => f.startsWith(prefix))) {
        const rest = p.slice(prefix.length).split('/');
        if (rest.length > 1 && !recursive) {
          entries.set(prefix + rest[0], { type: 'directory', oid: '0'.repeat(40), size: 0, path: prefix + rest[0] });
          continue;
        }
        for (let i = 1; i < rest.length; i++) {
          const dir = prefix + rest.slice(0, i).join('/');
          entries.set(dir, { type: 'directory', oid: '0'.repeat(40), size: 0, path: dir });
        }
        const b = bytes(p);
        entries.set(p, { type: 'file', oid: createHash('sha1').update(b).digest('hex'), size: b.length, path: p });
      }
      return json(res, 200, [...entries.values()]);
    }
    if (!(path in repo.files)) return json(res, 404, { error: 'Entry not found' }, { 'X-Error-Code': 'EntryNotFound' });
    const body = bytes(path);
    const etag = `"${createHash('sha256').update(body).digest('hex')}"`;
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      const end = Math.min(Number(range[2]), body.length - 1);
      res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${body.length}`, ETag: etag, 'Content-Type': 'application/octet-stream', 'Accept-Ranges': 'bytes' });
      return void res.end(body.subarray(start, end + 1));
    }
    res.writeHead(200, { 'Content-Length': String(body.length), ETag: etag, 'Content-Type': 'application/octet-stream', 'Accept-Ranges': 'bytes' });
    res.end(body);
  };
  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
