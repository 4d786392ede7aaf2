import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createRequestGuard } from '../../src/server/auth.js';
import { serveHttp, type HttpServerHandle } from '../../src/server/http.js';
import { INITIALIZE, MCP_HEADERS, openSession, rawRequest } from '../helpers/http.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';

const TOKEN = 'test-token-0123456789abcdef';
const AUTH = { authorization: `Bearer ${TOKEN}` };

// Issue 13 item 2: a DNS-rebinding page (Host evil.example, resolving to 127.0.0.1) or any cross-site
// page (Origin http://evil.example) drove a loopback server; the MCP transport specification asks for 403.
describe('HTTP transport: Host and Origin checks', () => {
  let t: TestClient;
  let open: HttpServerHandle;
  let locked: HttpServerHandle;
  beforeAll(async () => {
    t = await connectTestClient();
    open = await serveHttp(t.services, { host: '127.0.0.1', port: 0 });
    locked = await serveHttp(t.services, { host: '127.0.0.1', port: 0, token: TOKEN, allowedOrigins: ['https://app.example.com'], allowedHosts: ['gpu-box.lan'] });
  });
  afterAll(async () => {
    await Promise.all([open.close(), locked.close()]);
    await t.close();
  });

  const routes = [
    { method: 'POST', path: '/mcp', body: INITIALIZE },
    { method: 'GET', path: '/mcp' },
    { method: 'DELETE', path: '/mcp' },
    { method: 'GET', path: '/healthz' },
    { method: 'GET', path: '/metrics' },
  ];

  it('answers 403 to Host evil.example and Origin http://evil.example on every route, with and without a token', async () => {
    const cases = [
      { server: () => open, auth: {} },
      { server: () => locked, auth: {} },
      { server: () => locked, auth: AUTH },
    ];
    for (const { server, auth } of cases) {
      const port = server().port;
      for (const route of routes) {
        for (const hostile of [{ host: `evil.example:${port}` }, { origin: 'http://evil.example' }, { host: 'evil.example', origin: 'http://evil.example' }]) {
          const res = await rawRequest(`${server().url}${route.path}`, { method: route.method, headers: { ...MCP_HEADERS, ...auth, ...hostile }, body: route.body });
          expect({ route: `${route.method} ${route.path}`, hostile, status: res.status }).toEqual({ route: `${route.method} ${route.path}`, hostile, status: 403 });
          expect(JSON.parse(res.text)).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
        }
      }
    }
  });

  it('serves non-browser clients on loopback without a token, under every loopback name', async () => {
    for (const host of [`127.0.0.1:${open.port}`, `localhost:${open.port}`, 'localhost']) {
      expect(typeof (await openSession(open.url, { host }))).toBe('string');
    }
    expect((await rawRequest(`${open.url}/healthz`)).status).toBe(200);
  });

  it('refuses any browser Origin, even a loopback one, when the server has no token', async () => {
    const res = await rawRequest(`${open.url}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, origin: 'http://localhost:3000' }, body: INITIALIZE });
    expect(res.status).toBe(403);
    expect(res.text).toContain('need a bearer token');
    expect((await rawRequest(`${open.url}/healthz`, { headers: { origin: 'null' } })).status).toBe(403);
  });

  it('with a token, serves loopback and allowed origins and allowed host names, and still needs the token', async () => {
    for (const origin of ['http://localhost:6274', 'http://127.0.0.1:5173', 'https://app.example.com']) {
      expect(typeof (await openSession(locked.url, { ...AUTH, origin }))).toBe('string');
    }
    expect(typeof (await openSession(locked.url, { ...AUTH, host: `gpu-box.lan:${locked.port}` }))).toBe('string');
    const noToken = await rawRequest(`${locked.url}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, origin: 'https://app.example.com' }, body: INITIALIZE });
    expect(noToken.status).toBe(401);
    const otherPort = await rawRequest(`${locked.url}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, ...AUTH, origin: 'https://app.example.com:8443' }, body: INITIALIZE });
    expect(otherPort.status).toBe(403);
  });

  it('refuses to start with allowed origins but no token', async () => {
    await expect(serveHttp(t.services, { host: '127.0.0.1', port: 0, allowedOrigins: ['https://app.example.com'] })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      details: { field: 'http.allowed_origins' },
    });
  });
});

describe('request guard', () => {
  const guard = createRequestGuard({ bindHost: '0.0.0.0', token: TOKEN, allowedHosts: ['GPU-box.lan:8765'], allowedOrigins: ['https://App.example.com:443'] });
  it('compares host names without ports and case, and origins in serialised form', () => {
    expect(guard({ host: 'gpu-box.lan' })).toBeUndefined();
    expect(guard({ host: '[::1]:8765' })).toBeUndefined();
    expect(guard({ host: '127.9.9.9' })).toBeUndefined();
    expect(guard({ host: 'localhost', origin: 'https://app.example.com' })).toBeUndefined();
    expect(guard({ host: '0.0.0.0:8765' })).toContain('not allowed');
    expect(guard({})).toContain('not allowed');
    expect(guard({ host: '127.0.0.1@evil.example' })).toContain('not allowed');
    expect(guard({ host: 'localhost.evil.example' })).toContain('not allowed');
    expect(guard({ host: 'localhost', origin: 'http://app.example.com' })).toContain('not allowed');
  });
  it('allows the bound address when it is a specific one', () => {
    expect(createRequestGuard({ bindHost: '10.1.2.3', token: TOKEN, allowedHosts: [], allowedOrigins: [] })({ host: '10.1.2.3:8765' })).toBeUndefined();
    expect(createRequestGuard({ bindHost: '::1', allowedHosts: [], allowedOrigins: [] })({ host: '[::1]:8765' })).toBeUndefined();
  });
});

describe('http config', () => {
  it('reads allowed hosts and origins from the environment, and refuses a malformed origin', () => {
    const config = loadConfig({ env: { FINETUNE_MCP_ALLOWED_HOSTS: 'gpu-box.lan, 10.0.0.5', FINETUNE_MCP_ALLOWED_ORIGINS: 'https://app.example.com' } });
    expect(config.http).toMatchObject({ allowed_hosts: ['gpu-box.lan', '10.0.0.5'], allowed_origins: ['https://app.example.com'], session_idle_s: 1800, max_sessions: 100 });
    expect(() => loadConfig({ env: { FINETUNE_MCP_ALLOWED_ORIGINS: 'app.example.com' } })).toThrow(/http\.allowed_origins\.0/);
  });
});
