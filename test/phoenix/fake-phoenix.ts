import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PhoenixSpan, PhoenixSpanAnnotation } from '../../plugins/phoenix/client.js';

/**
 * A local server speaking the Phoenix REST v1 routes the extractor uses, as its OpenAPI schema
 * describes them: `{data, next_cursor}` pages (newest first), span_kind filter, span annotations by
 * span_ids, bearer auth (401), unknown project (404 text/plain).
 */
export async function startFakePhoenix(options: { project: string; spans: PhoenixSpan[]; annotations: PhoenixSpanAnnotation[]; api_key?: string }) {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    if (options.api_key && req.headers.authorization !== `Bearer ${options.api_key}`) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('Invalid token');
      return;
    }
    const match = /^\/v1\/projects\/([^/]+)\/(spans|span_annotations)$/.exec(url.pathname);
    if (!match) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
    if (decodeURIComponent(match[1]) !== options.project) return void res.writeHead(404, { 'content-type': 'text/plain' }).end(`Project ${match[1]} not found`);
    const limit = Number(url.searchParams.get('limit') ?? 100);
    const cursor = url.searchParams.get('cursor');
    let rows: Array<{ id: string }>;
    if (match[2] === 'spans') {
      const kinds = url.searchParams.getAll('span_kind');
      rows = options.spans.filter((s) => !kinds.length || kinds.includes(s.span_kind));
    } else {
      const ids = url.searchParams.getAll('span_ids');
      if (!ids.length) return void res.writeHead(422, { 'content-type': 'application/json' }).end('{"detail":"span_ids or identifier required"}');
      rows = options.annotations.filter((a) => ids.includes(a.span_id));
    }
    const start = cursor ? rows.findIndex((r) => r.id === cursor) : 0;
    const page = rows.slice(start, start + limit);
    const next = rows[start + limit]?.id ?? null;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: page, next_cursor: next }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise<void>((r) => server.close(() => r())) };
}
