import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { FinetuneError } from '../errors.js';
import type { Services } from '../services.js';
import { createOpenAiRoutes, sendOpenAiUnauthorized } from '../serving/openai-routes.js';
import { bearerTokenMatches, createRequestGuard, isLoopbackHost } from './auth.js';
import { createServer } from './create-server.js';
import { HttpSessions } from './http-sessions.js';
import { createDashboardRoutes } from './ui/dashboard.js';

export interface HttpServerHandle {
  url: string;
  port: number;
  close(): Promise<void>;
}

interface HttpServeOptions {
  host: string;
  port: number;
  token?: string;
  /** Default: services.config.http.allowed_hosts. */
  allowedHosts?: readonly string[];
  /** Default: services.config.http.allowed_origins. */
  allowedOrigins?: readonly string[];
  /** Default: services.config.http.session_idle_s × 1000. */
  sessionIdleMs?: number;
  /** Default: services.config.http.max_sessions. */
  maxSessions?: number;
  /** Serve only the OpenAI-compatible API, for this one version (`serve-model`): no /mcp, and /v1 lists just it. */
  onlyVersion?: string;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * Streamable HTTP at `/mcp` (stateful sessions: one McpServer per session, bounded by idle time and
 * count), the OpenAI-compatible API over registered versions under `/v1` (src/serving), `GET /healthz`
 * `GET /metrics` and the dashboard at `/ui` (src/server/ui). Every route first checks Host and Origin (403: DNS
 * rebinding, cross-site pages), then the bearer token (401), required off loopback and for any
 * browser; compared in constant time.
 */
export async function serveHttp(services: Services, options: HttpServeOptions): Promise<HttpServerHandle> {
  const { host, port, token } = options;
  const settings = services.config.http;
  const allowedOrigins = options.allowedOrigins ?? settings.allowed_origins;
  if (!token && !isLoopbackHost(host)) {
    throw new FinetuneError('CONFIG_INVALID', `Refusing to listen on ${host} without a bearer token: anyone who reaches it could train and delete models.`, {
      recovery: 'Set FINETUNE_MCP_TOKEN to a secret of 16+ characters, or listen on 127.0.0.1.',
      details: { field: 'http.token' },
    });
  }
  if (!token && allowedOrigins.length > 0) {
    throw new FinetuneError('CONFIG_INVALID', `http.allowed_origins (${allowedOrigins.join(', ')}) lets web pages call the server, which then needs a bearer token.`, {
      recovery: 'Set FINETUNE_MCP_TOKEN to a secret of 16+ characters, or empty http.allowed_origins.',
      details: { field: 'http.allowed_origins' },
    });
  }
  const log = services.logger.child({ transport: 'http' });
  const guard = createRequestGuard({ bindHost: host, token, allowedHosts: options.allowedHosts ?? settings.allowed_hosts, allowedOrigins });
  const openAi = createOpenAiRoutes(services, { only: options.onlyVersion });
  const mcp = options.onlyVersion === undefined;
  const dashboard = mcp ? createDashboardRoutes(services, token) : undefined;
  const sessions = new HttpSessions({ idleMs: options.sessionIdleMs ?? settings.session_idle_s * 1000, max: options.maxSessions ?? settings.max_sessions, logger: log });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const refusal = guard(req.headers);
    if (refusal) {
      log.warn({ method: req.method, url: req.url, host: req.headers.host, origin: req.headers.origin }, 'http request refused: host or origin');
      if (pathOf(req).startsWith('/v1/')) return sendJson(res, 403, { error: { message: refusal, type: 'invalid_request_error', param: null, code: 'forbidden' } });
      return sendJson(res, 403, jsonRpcError(refusal));
    }
    const path = pathOf(req);
    if (req.method === 'GET' && path === '/healthz') return sendJson(res, 200, { status: 'ok', version: services.version });
    // The dashboard checks its own session cookie (a browser cannot send the bearer header on navigation).
    if (dashboard && (await dashboard(req, res, path))) return;
    if (token && !bearerTokenMatches(req.headers.authorization, token)) {
      if (path.startsWith('/v1/')) return sendOpenAiUnauthorized(res);
      res.setHeader('WWW-Authenticate', 'Bearer');
      return sendJson(res, 401, { error: 'unauthorized', message: 'Send Authorization: Bearer <FINETUNE_MCP_TOKEN>.' });
    }
    if (req.method === 'GET' && path === '/metrics') {
      services.metrics.http_sessions.set(sessions.size);
      services.metrics.serving_queued.set(openAi.queued());
      res.writeHead(200, { 'Content-Type': services.metrics.registry.contentType });
      res.end(await services.metrics.registry.metrics());
      return;
    }
    if (path.startsWith('/v1/') && (await openAi.handle(req, res, path))) return;
    if (path !== '/mcp' || !mcp) {
      const endpoints = `${mcp ? '/mcp, ' : ''}/v1/models, /v1/chat/completions, /v1/completions, /healthz, /metrics`;
      const message = `No route ${path}. Endpoints: ${endpoints}.`;
      return sendJson(res, 404, path.startsWith('/v1/') ? { error: { message, type: 'invalid_request_error', param: null, code: 'not_found' } } : { error: 'not_found', message });
    }

    const sessionId = req.headers['mcp-session-id'];
    if (sessionId !== undefined) {
      const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
      // The specification's answer to an expired, closed or unknown session: 404, and the client starts a new one.
      if (!existing || typeof sessionId !== 'string') return sendJson(res, 404, jsonRpcError(SESSION_NOT_FOUND, -32001));
      sessions.track(sessionId, req.method, res);
      return existing.handleRequest(req, res);
    }
    if (req.method !== 'POST') return sendJson(res, 400, jsonRpcError('No valid session: send an initialize request first.'));
    const body = await readJsonBody(req);
    if (body === undefined || !isInitializeRequest(body)) return sendJson(res, 400, jsonRpcError('No valid session: send an initialize request first.'));
    if (!sessions.reserve()) {
      res.setHeader('Retry-After', '5');
      return sendJson(res, 503, jsonRpcError('Every session is answering a call and the session cap (http.max_sessions) is reached: retry shortly.'));
    }
    try {
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.add(id, transport);
          sessions.track(id, req.method, res);
        },
      });
      transport.onclose = () => {
        if (transport.sessionId) sessions.remove(transport.sessionId);
      };
      await createServer({ services }).connect(transport);
      await transport.handleRequest(req, res, body);
    } finally {
      sessions.settle();
    }
  };

  const server: Server = createHttpServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error({ err: error }, 'http request failed');
      if (!res.headersSent) sendJson(res, 500, jsonRpcError('Internal server error; see the server log.'));
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  log.info({ host: address.address, port: address.port, auth: token ? 'bearer' : 'none', only_version: options.onlyVersion }, mcp ? 'serving MCP over HTTP at /mcp and the OpenAI-compatible API at /v1' : 'serving the OpenAI-compatible API at /v1');
  if (['0.0.0.0', '::'].includes(host) && (options.allowedHosts ?? settings.allowed_hosts).length === 0) {
    log.warn({ host }, 'listening on every interface but http.allowed_hosts is empty: clients that use a name or address other than loopback get 403; set FINETUNE_MCP_ALLOWED_HOSTS');
  }
  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    async close() {
      await sessions.closeAll();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? '/', 'http://localhost').pathname;
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(value));
}

const SESSION_NOT_FOUND = 'Session not found: it expired (http.session_idle_s without a request), was closed or evicted, or never existed. Send a new initialize request without Mcp-Session-Id.';

function jsonRpcError(message: string, code = -32000) {
  return { jsonrpc: '2.0', error: { code, message }, id: null };
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}
