import { request } from 'node:http';

/** Raw HTTP for transport tests: node:http, so a test can send any Host header (fetch cannot). */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

export const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
};

export function rawRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body === undefined ? undefined : JSON.stringify(options.body));
  });
}

/** Opens a session with a bare initialize request (no GET stream, like a client that then vanishes); returns its id. */
export async function openSession(base: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await rawRequest(`${base}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, ...headers }, body: INITIALIZE });
  const id = res.headers['mcp-session-id'];
  if (res.status !== 200 || typeof id !== 'string') throw new Error(`initialize answered ${res.status}: ${res.text}`);
  return id;
}

/** tools/list in a session; returns the raw response (200, or 404 for a session that is gone). */
export function listToolsIn(base: string, sessionId: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return rawRequest(`${base}/mcp`, {
    method: 'POST',
    headers: { ...MCP_HEADERS, ...headers, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' },
    body: { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} },
  });
}
