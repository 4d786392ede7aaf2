import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PhoenixSpan, PhoenixSpanAnnotation } from '../../plugins/phoenix/client.js';

interface FakePhoenixOptions {
  project: string;
  spans: PhoenixSpan[];
  annotations: PhoenixSpanAnnotation[];
  api_key?: string;
  /** Spans that annotations cannot reach (deleted since they were read): a POST naming one gets Phoenix's 404. */
  gone_span_ids?: string[];
  /** Answer this request with a status instead (a 5xx, say); undefined serves it. */
  fail?: (path: string, nth: number) => number | undefined;
  /** A broken server: every spans page names a next cursor, so the listing never ends. */
  endless?: boolean;
}

/** One annotation as `POST /v1/span_annotations` received it (SpanAnnotationData). */
export interface WrittenAnnotation {
  span_id: string;
  name: string;
  annotator_kind: string;
  result?: { label?: string | null; score?: number | null; explanation?: string | null } | null;
  identifier?: string;
  metadata?: Record<string, unknown> | null;
  sync: string | null;
}

/**
 * `POST /v1/span_annotations?sync=…` with `{data: [SpanAnnotationData]}`: 422 for a body that breaks the
 * schema (name, annotator_kind LLM|CODE|HUMAN), 404 "Could not find spans with IDs" when any span is
 * unknown (nothing of that request is written), else `{data: [{id}]}`.
 */
function receiveAnnotations(req: IncomingMessage, res: ServerResponse, url: URL, options: FakePhoenixOptions, written: WrittenAnnotation[]): void {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    const data = (JSON.parse(body) as { data?: WrittenAnnotation[] }).data;
    if (!Array.isArray(data) || data.some((a) => typeof a.span_id !== 'string' || !a.name || !['LLM', 'CODE', 'HUMAN'].includes(a.annotator_kind))) {
      return void res.writeHead(422, { 'content-type': 'application/json' }).end('{"detail":"invalid span annotation"}');
    }
    const known = new Set(options.spans.map((s) => s.context.span_id).filter((id) => !options.gone_span_ids?.includes(id)));
    const missing = data.filter((a) => !known.has(a.span_id)).map((a) => a.span_id);
    if (missing.length) return void res.writeHead(404, { 'content-type': 'text/plain' }).end(`Could not find spans with IDs: ${JSON.stringify(missing)}`);
    const start = written.length;
    written.push(...data.map((a) => ({ ...a, sync: url.searchParams.get('sync') })));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: data.map((_, i) => ({ id: `ann_${start + i}` })) }));
  });
}

/**
 * A local server speaking the Phoenix REST v1 routes the extractor uses, as its OpenAPI schema
 * describes them: `{data, next_cursor}` pages (newest first), span_kind filter, span annotations by
 * span_ids, bearer auth (401), unknown project (404 text/plain); and, when asked, 5xx answers and a
 * listing whose cursor never ends.
 */
export async function startFakePhoenix(options: FakePhoenixOptions) {
  const requests: string[] = [];
  const written: WrittenAnnotation[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    const status = options.fail?.(url.pathname, requests.length);
    if (status) return void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ detail: 'Internal Server Error' }));
    if (options.api_key && req.headers.authorization !== `Bearer ${options.api_key}`) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('Invalid token');
      return;
    }
    if (req.method === 'POST' && url.pathname === '/v1/span_annotations') return void receiveAnnotations(req, res, url, options, written);
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
    if (options.endless && match[2] === 'spans') {
      const n = Number(cursor ?? 0);
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: rows.slice(0, 1), next_cursor: String(n + 1) }));
    }
    const start = cursor ? rows.findIndex((r) => r.id === cursor) : 0;
    const page = rows.slice(start, start + limit);
    const next = rows[start + limit]?.id ?? null;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: page, next_cursor: next }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, written, close: () => new Promise<void>((r) => server.close(() => r())) };
}
