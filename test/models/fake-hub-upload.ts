import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the write side of the Hugging Face Hub, speaking the routes @huggingface/hub
 * 2.17 calls (read from node_modules/@huggingface/hub/src/lib: create-repo.ts, commit.ts,
 * list-commits.ts): POST /api/repos/create (409 when the repo exists), POST
 * /api/models/{repo}/preupload/{rev} (which files go to LFS), POST /{repo}.git/info/lfs/objects/batch
 * (basic transfer: an upload href per object not yet stored), PUT of the object (checked against its
 * sha256), POST /api/models/{repo}/commit/{rev} (NDJSON: header, file, lfsFile; an lfsFile whose
 * object was never uploaded is refused) and GET /api/models/{repo}/commits/{rev}. Every route needs
 * `Authorization: Bearer <token>` (401 otherwise), as the Hub's write routes do.
 */

export interface FakeCommit {
  id: string;
  title: string;
  message: string;
  /** Path → bytes of the files this commit added. */
  files: Map<string, Buffer>;
  date: string;
}

interface FakeRepo {
  visibility: string;
  commits: FakeCommit[];
}

/** A failure to inject: the next `times` requests whose method and path match answer `status`; `after` answers it only after doing the work (a lost answer). */
export interface InjectedFailure {
  method: string;
  path: RegExp;
  status: number;
  times?: number;
  after?: boolean;
}

export interface FakeUploadHub {
  url: string;
  repos: Map<string, FakeRepo>;
  /** LFS objects stored, by sha256. */
  lfs: Map<string, Buffer>;
  requests: Array<{ method: string; path: string }>;
  fail(failure: InjectedFailure): void;
  close(): Promise<void>;
}

const LFS_SUFFIX = /\.(safetensors|onnx|onnx_data|gguf|bin)$/;

export async function startFakeUploadHub(options: { token: string }): Promise<FakeUploadHub> {
  const repos = new Map<string, FakeRepo>();
  const lfs = new Map<string, Buffer>();
  const requests: FakeUploadHub['requests'] = [];
  const failures: Array<InjectedFailure & { left: number }> = [];
  let url = '';

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json', 'X-Request-Id': `req-${requests.length}` });
    res.end(JSON.stringify(body));
  };
  const newCommit = (title: string, message: string, files: Map<string, Buffer>): FakeCommit => ({
    id: createHash('sha1').update(`${title}\n${message}\n${Date.now()}\n${Math.random()}`).digest('hex'),
    title,
    message,
    files,
    date: new Date().toISOString(),
  });

  const route = async (req: IncomingMessage, res: ServerResponse, path: string, body: Buffer): Promise<void> => {
    if (req.headers.authorization !== `Bearer ${options.token}`) return send(res, 401, { error: 'Invalid credentials in Authorization header' });
    if (req.method === 'POST' && path === '/api/repos/create') {
      const { name, organization, visibility, type } = JSON.parse(body.toString()) as { name: string; organization: string; visibility?: string; type: string };
      const id = `${organization}/${name}`;
      if (type !== 'model') return send(res, 400, { error: `fake hub: only model repos, not ${type}` });
      if (repos.has(id)) return send(res, 409, { error: 'You already created this model repo', url: `${url}/${id}` });
      repos.set(id, { visibility: visibility ?? 'public', commits: [newCommit('initial commit', '', new Map([['.gitattributes', Buffer.from('*.safetensors filter=lfs diff=lfs merge=lfs -text\n')]]))] });
      return send(res, 200, { url: `${url}/${id}`, name: id, id: `id-${id}` });
    }
    let m = /^\/api\/models\/([^/]+\/[^/]+)\/(preupload|commit|commits)\/([^/]+)$/.exec(path);
    if (m) {
      const repo = repos.get(m[1]);
      if (!repo) return send(res, 404, { error: 'Repository not found' });
      if (m[3] !== 'main') return send(res, 404, { error: `Invalid rev id: ${m[3]}` });
      if (m[2] === 'preupload') {
        const { files } = JSON.parse(body.toString()) as { files: Array<{ path: string; size: number }> };
        return send(res, 200, { files: files.map((f) => ({ path: f.path, uploadMode: LFS_SUFFIX.test(f.path) || f.size > 10 * 1024 * 1024 ? 'lfs' : 'regular', shouldIgnore: false })) });
      }
      if (m[2] === 'commits') {
        return send(res, 200, [...repo.commits].reverse().map((c) => ({ id: c.id, title: c.title, message: c.message, authors: [{ user: 'fake', avatar: '' }], date: c.date })));
      }
      const lines = body.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { key: string; value: Record<string, string | number> });
      const header = lines.find((l) => l.key === 'header')?.value;
      if (!header?.summary) return send(res, 400, { error: 'commit header with a summary is required' });
      const files = new Map<string, Buffer>();
      for (const { key, value } of lines) {
        if (key === 'file') files.set(String(value.path), Buffer.from(String(value.content), 'base64'));
        else if (key === 'lfsFile') {
          const blob = lfs.get(String(value.oid));
          if (!blob) return send(res, 400, { error: `LFS object ${value.oid} for ${value.path} was not uploaded` });
          files.set(String(value.path), blob);
        }
      }
      const commit = newCommit(String(header.summary), String(header.description ?? ''), files);
      repo.commits.push(commit);
      return send(res, 200, { success: true, commitOid: commit.id, commitUrl: `${url}/${m[1]}/commit/${commit.id}`, hookOutput: '' });
    }
    m = /^\/([^/]+\/[^/]+)\.git\/info\/lfs\/objects\/batch$/.exec(path);
    if (m && req.method === 'POST') {
      if (!repos.has(m[1])) return send(res, 404, { error: 'Repository not found' });
      const { objects } = JSON.parse(body.toString()) as { objects: Array<{ oid: string; size: number }> };
      return send(res, 200, {
        transfer: 'basic',
        objects: objects.map((o) => ({ oid: o.oid, size: o.size, authenticated: true, ...(lfs.has(o.oid) ? {} : { actions: { upload: { href: `${url}/lfs-upload/${o.oid}` } } }) })),
      });
    }
    m = /^\/lfs-upload\/([0-9a-f]{64})$/.exec(path);
    if (m && req.method === 'PUT') {
      if (createHash('sha256').update(body).digest('hex') !== m[1]) return send(res, 400, { error: 'sha256 mismatch' });
      lfs.set(m[1], body);
      res.writeHead(200).end();
      return;
    }
    send(res, 404, { error: `fake hub: no route ${req.method} ${path}` });
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      requests.push({ method: req.method ?? '', path });
      const failure = failures.find((f) => f.left > 0 && f.method === req.method && f.path.test(path));
      if (failure) failure.left--;
      if (failure && !failure.after) return send(res, failure.status, { error: `injected failure ${failure.status}` });
      // The LFS PUT answers on a route that does not need the token (the href is pre-signed on the real Hub).
      if (path.startsWith('/lfs-upload/')) req.headers.authorization = `Bearer ${options.token}`;
      const sink = failure ? Object.assign(Object.create(res) as ServerResponse, { writeHead: () => sink, end: () => send(res, failure.status, { error: `injected failure ${failure.status} after the work was done` }) }) : res;
      route(req, sink, path, Buffer.concat(chunks)).catch((error: unknown) => send(res, 500, { error: String(error) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    repos,
    lfs,
    requests,
    fail: (failure) => failures.push({ ...failure, left: failure.times ?? 1 }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
