import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { FinetuneError } from '../errors.js';
import type { Services } from '../services.js';
import { bearerTokenMatches, isLoopbackHost } from './auth.js';
import { createServer } from './create-server.js';

export interface HttpServerHandle {
  url: string;
  port: number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * Streamable HTTP at `/mcp` (stateful sessions: one McpServer per session), `GET /healthz`
 * and `GET /metrics`. A bearer token is required off loopback; compared in constant time.
 */
export async function serveHttp(services: Services, options: { host: string; port: number; token?: string }): Promise<HttpServerHandle> {
  const { host, port, token } = options;
  if (!token && !isLoopbackHost(host)) {
    throw new FinetuneError('CONFIG_INVALID', `Refusing to listen on ${host} without a bearer token: anyone who reaches it could train and delete models.`, {
      recovery: 'Set FINETUNE_MCP_TOKEN to a secret of 16+ characters, or listen on 127.0.0.1.',
      details: { field: 'http.token' },
    });
  }
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const log = services.logger.child({ transport: 'http' });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method === 'GET' && path === '/healthz') return sendJson(res, 200, { status: 'ok', version: services.version });
    if (token && !bearerTokenMatches(req.headers.authorization, token)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return sendJson(res, 401, { error: 'unauthorized', message: 'Send Authorization: Bearer <FINETUNE_MCP_TOKEN>.' });
    }
    if (req.method === 'GET' && path === '/metrics') {
      res.writeHead(200, { 'Content-Type': services.metrics.registry.contentType });
      res.end(await services.metrics.registry.metrics());
      return;
    }
    if (path !== '/mcp') return sendJson(res, 404, { error: 'not_found', message: 'Endpoints: /mcp, /healthz, /metrics.' });

    const sessionId = req.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (existing) return existing.handleRequest(req, res);
    if (req.method !== 'POST') return sendJson(res, 400, jsonRpcError('No valid session: send an initialize request first.'));
    const body = await readJsonBody(req);
    if (body === undefined || !isInitializeRequest(body)) return sendJson(res, 400, jsonRpcError('No valid session: send an initialize request first.'));

    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await createServer({ services }).connect(transport);
    await transport.handleRequest(req, res, body);
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
  log.info({ host: address.address, port: address.port, auth: token ? 'bearer' : 'none' }, 'serving MCP over HTTP at /mcp');
  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    async close() {
      await Promise.all([...sessions.values()].map((t) => t.close()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(value));
}

function jsonRpcError(message: string) {
  return { jsonrpc: '2.0', error: { code: -32000, message }, id: null };
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
