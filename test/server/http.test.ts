import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerTokenMatches, isLoopbackHost } from '../../src/server/auth.js';
import { serveHttp, type HttpServerHandle } from '../../src/server/http.js';
import { builtCli } from '../helpers/build.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';

const TOKEN = 'test-token-0123456789abcdef';

describe('Streamable HTTP transport', () => {
  let t: TestClient;
  let http: HttpServerHandle;
  beforeAll(async () => {
    t = await connectTestClient();
    http = await serveHttp(t.services, { host: '127.0.0.1', port: 0, token: TOKEN });
  });
  afterAll(async () => {
    await http.close();
    await t.close();
  });

  it('refuses a call without the token (401) and with a wrong one', async () => {
    const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '0' } } };
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const none = await fetch(`${http.url}/mcp`, { method: 'POST', headers, body: JSON.stringify(initialize) });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    const wrong = await fetch(`${http.url}/mcp`, { method: 'POST', headers: { ...headers, authorization: 'Bearer nope' }, body: JSON.stringify(initialize) });
    expect(wrong.status).toBe(401);
    expect((await fetch(`${http.url}/metrics`)).status).toBe(401);
  });

  it('serves MCP sessions to a client that sends the token', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`${http.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } } });
    const client = new Client({ name: 'http-test', version: '0' });
    await client.connect(transport);
    const result = await client.callTool({ name: 'server_info', arguments: {} });
    expect(result.isError).toBeFalsy();
    expect((result.structuredContent as { workspace: string }).workspace).toBe(t.home);
    await client.close();
  });

  it('serves /healthz openly and /metrics as Prometheus text', async () => {
    const health = await fetch(`${http.url}/healthz`);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    const metrics = await fetch(`${http.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    const text = await metrics.text();
    expect(text).toMatch(/^# HELP finetune_mcp_tool_calls_total /m);
    expect(text).toMatch(/^finetune_mcp_tool_calls_total\{tool="server_info",outcome="ok"\} [1-9]/m);
    expect(text).toMatch(/^# TYPE finetuning_runs_total counter/m);
  });

  it('refuses to listen off loopback without a token', async () => {
    await expect(serveHttp(t.services, { host: '0.0.0.0', port: 0 })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    const cli = spawnSync(process.execPath, [builtCli(), 'serve', '--http', '--host', '0.0.0.0', '--port', '0'], {
      env: { ...process.env, FINETUNE_MCP_HOME: t.home, FINETUNE_MCP_TOKEN: '' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(cli.status).toBe(2);
    expect(cli.stderr).toContain('[CONFIG_INVALID] Refusing to listen on 0.0.0.0 without a bearer token');
    expect(cli.stdout).toBe('');
  });
});

describe('auth helpers', () => {
  it('knows loopback hosts', () => {
    expect(['127.0.0.1', '127.3.2.1', 'localhost', '::1'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '10.0.0.1', 'example.com', '::'].some(isLoopbackHost)).toBe(false);
  });
  it('matches bearer tokens exactly', () => {
    expect(bearerTokenMatches(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerTokenMatches(`bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerTokenMatches(TOKEN, TOKEN)).toBe(false);
    expect(bearerTokenMatches(`Bearer ${TOKEN}x`, TOKEN)).toBe(false);
    expect(bearerTokenMatches(undefined, TOKEN)).toBe(false);
  });
});
