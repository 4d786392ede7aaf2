import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the Hugging Face Hub on 127.0.0.1 that speaks the routes @huggingface/hub
 * calls (read from node_modules/@huggingface/hub: modelInfo, listFiles, pathsInfo, fileDownloadInfo,
 * WebBlob range reads): GET /api/models/{repo}/revision/{rev}, GET /api/models/{repo}/tree/{rev},
 * POST /api/models/{repo}/paths-info/{rev}, GET /{repo}/resolve/{rev}/{path} with Range.
 * Errors as the Hub sends them: 404 + X-Error-Code RepositoryNotFound, 401 + GatedRepo.
 */

export interface FakeRepo {
  files: Record<string, Uint8Array>;
  /** Files stored with LFS (sha256 oid); others are plain git blobs (sha1 oid). */
  lfs?: string[];
  /** Requires `Authorization: Bearer <token>`. */
  gated_token?: string;
  /** Serve these bytes instead of the real ones for a path (a corrupted transfer). */
  corrupt?: Record<string, Uint8Array>;
}

export interface FakeHub {
  url: string;
  /** Every request: method, path and Range header. */
  requests: Array<{ method: string; path: string; range?: string; auth?: string }>;
  close(): Promise<void>;
}

const COMMIT = (repo: string) => createHash('sha1').update(`commit:${repo}`).digest('hex');

function gitOid(bytes: Uint8Array): string {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'X-Request-Id': 'req-fake-1', ...headers });
  res.end(JSON.stringify(body));
}

function entry(repo: FakeRepo, path: string) {
  const bytes = repo.files[path];
  const isLfs = repo.lfs?.includes(path) ?? false;
  return {
    type: 'file',
    path,
    size: isLfs ? 134 : bytes.length, // an LFS pointer's size, as the Hub reports it
    oid: isLfs ? gitOid(Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(bytes)}\n`)) : gitOid(bytes),
    ...(isLfs ? { lfs: { oid: sha256(bytes), size: bytes.length, pointerSize: 134 } } : {}),
  };
}

async function body(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

export async function startFakeHub(repos: Record<string, FakeRepo>): Promise<FakeHub> {
  const requests: FakeHub['requests'] = [];
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = decodeURIComponent(url.pathname);
    requests.push({ method: req.method ?? 'GET', path, range: req.headers.range, auth: req.headers.authorization });
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/(revision|tree|paths-info)\/([^/]+)/.exec(path);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const repoId = api?.[1] ?? resolve?.[1];
    const repo = repoId ? repos[repoId] : undefined;
    if (!repoId || !repo) {
      sendJson(res, 404, { error: 'Repository not found' }, { 'X-Error-Code': 'RepositoryNotFound' });
      return;
    }
    if (repo.gated_token && req.headers.authorization !== `Bearer ${repo.gated_token}`) {
      sendJson(res, 401, { error: `Access to model ${repoId} is restricted. You must have access to it and be authenticated to access it.` }, { 'X-Error-Code': 'GatedRepo' });
      return;
    }
    const commit = COMMIT(repoId);
    const revision = api?.[3] ?? resolve?.[2];
    if (revision !== 'main' && revision !== commit) {
      sendJson(res, 404, { error: `Invalid rev id: ${revision}` }, { 'X-Error-Code': 'RevisionNotFound' });
      return;
    }
    if (api?.[2] === 'revision') {
      sendJson(res, 200, { _id: `id-${repoId}`, id: repoId, sha: commit, private: false, gated: false, downloads: 0, likes: 0, lastModified: '2026-01-01T00:00:00.000Z', pipeline_tag: 'text-generation' });
    } else if (api?.[2] === 'tree') {
      sendJson(res, 200, Object.keys(repo.files).sort().map((p) => entry(repo, p)));
    } else if (api?.[2] === 'paths-info') {
      const { paths } = JSON.parse(await body(req)) as { paths: string[] };
      sendJson(res, 200, paths.filter((p) => p in repo.files).map((p) => ({ ...entry(repo, p), lastCommit: { id: commit, title: 'init', date: '2026-01-01T00:00:00.000Z' } })));
    } else if (resolve) {
      const file = resolve[3];
      const bytes = repo.corrupt?.[file] ?? repo.files[file];
      if (!bytes) {
        sendJson(res, 404, { error: 'Entry not found' }, { 'X-Error-Code': 'EntryNotFound' });
        return;
      }
      const etag = repo.lfs?.includes(file) ? sha256(repo.files[file]) : gitOid(repo.files[file]);
      const headers = { ETag: `"${etag}"`, 'X-Repo-Commit': commit, 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream' };
      const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
      if (range) {
        const start = Number(range[1]);
        const end = range[2] ? Math.min(Number(range[2]), bytes.length - 1) : bytes.length - 1;
        res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${bytes.length}`, 'Content-Length': String(end - start + 1) });
        res.end(Buffer.from(bytes.subarray(start, end + 1)));
      } else {
        res.writeHead(200, { ...headers, 'Content-Length': String(bytes.length) });
        res.end(Buffer.from(bytes));
      }
    } else {
      sendJson(res, 404, { error: 'Not found' });
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

export { COMMIT as fakeCommit };
