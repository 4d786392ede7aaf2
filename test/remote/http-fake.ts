import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the fake saw it, for assertions on what the plugin sent. */
export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** When it arrived (ms since the epoch), for checking a client's backoff. */
  at: number;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Raw bytes to send instead of `body` (file downloads). */
  binary?: Buffer;
}

/** A fault to answer instead of the real route, `times` times, for requests matching `method path`. */
export interface Fault {
  method: string;
  path: RegExp;
  times: number;
  /** The answer, or a function of the request (e.g. one that echoes a header, as some real APIs do). */
  reply: Reply | ((request: SeenRequest) => Reply);
}

export type Route = (request: SeenRequest, params: string[]) => Promise<Reply> | Reply;

/**
 * A tiny HTTP server on 127.0.0.1 for API fakes: routes by method and path pattern, records every
 * request, injects faults, and stamps each answer with an `x-request-id` like the real APIs.
 */
export class HttpFake {
  readonly requests: SeenRequest[] = [];
  private readonly routes: Array<{ method: string; pattern: RegExp; route: Route }> = [];
  private readonly faults: Fault[] = [];
  private server?: Server;
  private counter = 0;
  url = '';

  constructor(private readonly authorize: (request: SeenRequest) => Reply | undefined) {}

  on(method: string, pattern: RegExp, route: Route): this {
    this.routes.push({ method, pattern, route });
    return this;
  }

  fail(fault: Fault): void {
    this.faults.push(fault);
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  count(method: string, path: RegExp): number {
    return this.requests.filter((r) => r.method === method && path.test(r.path)).length;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const request: SeenRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body: Buffer.concat(chunks), at: Date.now() };
    this.requests.push(request);
    const requestId = `req_${++this.counter}`;
    let reply: Reply;
    try {
      reply = this.authorize(request) ?? this.takeFault(request) ?? (await this.route(request));
    } catch (error) {
      reply = { status: 500, body: { error: { message: `fake server bug: ${(error as Error).message}` } } };
    }
    res.writeHead(reply.status, { 'content-type': 'application/json', 'x-request-id': requestId, ...reply.headers });
    res.end(reply.binary ?? (typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {})));
  }

  private takeFault(request: SeenRequest): Reply | undefined {
    const fault = this.faults.find((f) => f.times > 0 && f.method === request.method && f.path.test(request.path));
    if (!fault) return undefined;
    fault.times--;
    return typeof fault.reply === 'function' ? fault.reply(request) : fault.reply;
  }

  private async route(request: SeenRequest): Promise<Reply> {
    for (const { method, pattern, route } of this.routes) {
      const match = method === request.method ? pattern.exec(request.path) : null;
      if (match) return route(request, match.slice(1));
    }
    return { status: 404, body: { error: { message: `No route ${request.method} ${request.path}` } } };
  }
}

/** Parses a multipart/form-data body the way a server framework would (undici's parser). */
export async function parseForm(request: SeenRequest): Promise<FormData> {
  return new Response(request.body, { headers: { 'content-type': String(request.headers['content-type']) } }).formData();
}

/** Cursor pagination over a list: `after` is the id of the last item of the previous page. */
export function page<T extends { id: string }>(items: T[], query: URLSearchParams, maxPage: number): { object: 'list'; data: T[]; has_more: boolean } {
  const limit = Math.min(Number(query.get('limit') ?? 20), maxPage);
  const after = query.get('after');
  const start = after ? items.findIndex((i) => i.id === after) + 1 : 0;
  const data = items.slice(start, start + limit);
  return { object: 'list', data, has_more: start + limit < items.length };
}
