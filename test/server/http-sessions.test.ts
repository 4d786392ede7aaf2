import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/observability/logger.js';
import { serveHttp, type HttpServerHandle } from '../../src/server/http.js';
import { HttpSessions } from '../../src/server/http-sessions.js';
import { listToolsIn, openSession, rawRequest } from '../helpers/http.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';

const IDLE_MS = 1000;

async function sessionsGauge(url: string): Promise<number> {
  const text = (await rawRequest(`${url}/metrics`)).text;
  return Number(/^finetune_mcp_http_sessions (\d+)$/m.exec(text)?.[1]);
}

// Issue 13 item 11: sessions never expired (2,000 took 93 -> 435 MB), and an unknown id got 400, so clients did not re-initialise.
describe('HTTP transport: session lifetime', () => {
  let t: TestClient;
  let http: HttpServerHandle;
  beforeAll(async () => {
    t = await connectTestClient();
    http = await serveHttp(t.services, { host: '127.0.0.1', port: 0, sessionIdleMs: IDLE_MS });
  });
  afterAll(async () => {
    await http.close();
    await t.close();
  });

  it('answers an unknown session id with 404 and JSON-RPC error -32001 on every method', async () => {
    for (const method of ['POST', 'GET', 'DELETE']) {
      const res = await rawRequest(`${http.url}/mcp`, { method, headers: { 'mcp-session-id': 'no-such-session', accept: 'application/json, text/event-stream', 'content-type': 'application/json' }, body: method === 'POST' ? { jsonrpc: '2.0', id: 1, method: 'tools/list' } : undefined });
      expect(res.status).toBe(404);
      expect(JSON.parse(res.text)).toMatchObject({ error: { code: -32001, message: expect.stringContaining('Session not found') } });
    }
  });

  it('closes a session idle past http.session_idle_s; its id then gets 404, and /metrics counts the sessions', async () => {
    const id = await openSession(http.url);
    expect((await listToolsIn(http.url, id)).status).toBe(200);
    expect(await sessionsGauge(http.url)).toBe(1);
    await sleep(IDLE_MS * 2.5);
    expect((await listToolsIn(http.url, id)).status).toBe(404);
    expect(await sessionsGauge(http.url)).toBe(0);
  });

  it('keeps a session whose client holds its GET stream open (a live SDK client), past the idle time', async () => {
    // Its own server with a longer idle time: the client opens its stream just after initialising, which a loaded machine may delay.
    const live = await serveHttp(t.services, { host: '127.0.0.1', port: 0, sessionIdleMs: 1500 });
    const client = new Client({ name: 'live', version: '0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${live.url}/mcp`)));
    await sleep(4000);
    const result = await client.callTool({ name: 'server_info', arguments: {} });
    expect(result.isError).toBeFalsy();
    await client.close();
    await live.close();
  });

  it('at the cap, a new session evicts the longest-idle one, which then gets 404', async () => {
    const capped = await serveHttp(t.services, { host: '127.0.0.1', port: 0, maxSessions: 3 });
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await openSession(capped.url));
    expect(await sessionsGauge(capped.url)).toBe(3);
    expect((await listToolsIn(capped.url, ids[0])).status).toBe(404);
    expect((await listToolsIn(capped.url, ids[1])).status).toBe(404);
    for (const id of ids.slice(2)) expect((await listToolsIn(capped.url, id)).status).toBe(200);
    await capped.close();
  });
});

describe('HttpSessions', () => {
  const transport = () => ({ close: async () => {} }) as unknown as StreamableHTTPServerTransport;
  const response = () => new EventEmitter() as unknown as ServerResponse;

  it('refuses a new session (503) when every session is answering a call, and prefers evicting one with no stream open', () => {
    let now = 0;
    const sessions = new HttpSessions({ idleMs: 60_000, max: 2, logger: createSilentLogger(), now: () => now });
    sessions.add('a', transport());
    sessions.add('b', transport());
    const streamA = response();
    sessions.track('a', 'GET', streamA);
    now = 10;
    sessions.track('b', 'GET', response());
    sessions.track('b', 'POST', response());
    // a holds a stream but is not mid-call; b is mid-call: a goes.
    expect(sessions.reserve()).toBe(true);
    expect(sessions.get('a')).toBeUndefined();
    sessions.settle();
    sessions.add('c', transport());
    sessions.track('c', 'POST', response());
    expect(sessions.reserve()).toBe(false);
    void sessions.closeAll();
  });
});
