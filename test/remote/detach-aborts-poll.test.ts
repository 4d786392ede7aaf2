import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modalPlugin } from '../../plugins/modal/index.js';
import { openaiPlugin } from '../../plugins/openai/index.js';
import { togetherPlugin } from '../../plugins/together/index.js';
import { isFinetuneError } from '../../src/errors.js';
import { createSilentLogger } from '../../src/observability/logger.js';
import { RestClient } from '../../src/plugin-sdk/http.js';
import { testPluginContext } from '../../src/plugin-sdk/testing.js';
import { createRemoteJobRunner } from '../../src/plugins/remote-jobs.js';
import type { PluginDefinition } from '../../src/plugins/types.js';
import { asRemote, chatRows, makeSpec, RecordingSink } from './support.js';

/**
 * A provider that takes every request and never answers (a poll stuck on a slow API): what matters is
 * that the server shutting down (the host detaching its followers) ends the request at once, instead of
 * waiting out the client's timeout (120 s by default), and that the job is not marked as failing.
 */
class SilentProvider {
  readonly open = new Set<IncomingMessage>();
  readonly seen: string[] = [];
  private server?: Server;
  url = '';

  async start(): Promise<string> {
    this.server = createServer((req) => {
      this.seen.push(`${req.method} ${req.url}`);
      this.open.add(req);
      req.socket.on('close', () => this.open.delete(req));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const provider = new SilentProvider();
beforeAll(() => provider.start());
afterAll(() => provider.stop());

const PLUGINS: Array<{ plugin: PluginDefinition<any>; env: () => Record<string, string>; config?: Record<string, unknown> }> = [
  { plugin: togetherPlugin, env: () => ({ TOGETHER_BASE_URL: provider.url, TOGETHER_API_KEY: 'tg-test' }) },
  { plugin: modalPlugin, env: () => ({ MODAL_ENDPOINT_URL: provider.url, MODAL_TOKEN_ID: 'wk-test', MODAL_TOKEN_SECRET: 'ws-test' }) },
  { plugin: openaiPlugin, env: () => ({ OPENAI_BASE_URL: provider.url, OPENAI_API_KEY: 'sk-test' }) },
];

describe('detaching a remote job aborts its poll in flight', () => {
  it.each(PLUGINS)('$plugin.meta.name: the held request closes at once and the job records no error', async ({ plugin, env }) => {
    const name = plugin.meta.name;
    const config = plugin.configSchema!.parse({ timeout_ms: 60_000, max_retries: 0, poll_interval_ms: 10, max_poll_interval_ms: 10 });
    const providers = await plugin.create(testPluginContext(config, { env: env(), logger: createSilentLogger() }));
    const runner = createRemoteJobRunner(asRemote(providers.training_backend!), { name, logger: createSilentLogger() });
    const spec = makeSpec({ rows: chatRows(12), backend: name, base_model: 'tiny-base' });
    const sink = new RecordingSink();
    const before = provider.seen.length;

    const handle = await runner.attach(`${name}-job-1`, spec, sink);
    await until(() => provider.seen.length > before && provider.open.size > 0, `${name}'s first poll request`);
    const started = Date.now();
    handle.detach();
    await handle.followed;
    await until(() => provider.open.size === 0, 'the held request to close', 2000);
    expect(Date.now() - started, 'ended by the abort, not by the 60 s timeout').toBeLessThan(2000);

    // Nothing went to the ledger: the job is neither failed nor interrupted by its own shutdown.
    expect(sink.statuses).toEqual([]);
    expect(sink.events).toEqual([]);
    // And following stopped: no further request came.
    const count = provider.seen.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(provider.seen.length).toBe(count);
  });
});

describe('RestClient stops on its signals', () => {
  const client = (signal?: AbortSignal) => new RestClient({ baseURL: provider.url, headers: {}, maxRetries: 3, timeoutMs: 60_000, provider: 'Test', signal });

  it('a request signal ends a request in flight with CANCELLED', async () => {
    const aborter = new AbortController();
    const call = client().request('/slow', { action: 'reading the slow thing', signal: aborter.signal });
    await until(() => provider.open.size > 0, 'the request');
    aborter.abort();
    const error = await call.then(() => undefined, (thrown: unknown) => thrown);
    expect(isFinetuneError(error) && error.code).toBe('CANCELLED');
    expect(String((error as Error).message)).toMatch(/Test: stopped reading the slow thing/);
    await until(() => provider.open.size === 0, 'the request to close', 2000);
  });

  it("the client's signal stops it too, and a signal aborted before the call sends nothing", async () => {
    const aborter = new AbortController();
    const call = client(aborter.signal).request('/slow', { action: 'reading', signal: new AbortController().signal });
    await until(() => provider.open.size > 0, 'the request');
    aborter.abort();
    await expect(call).rejects.toMatchObject({ code: 'CANCELLED' });
    const sent = provider.seen.length;
    await expect(client(aborter.signal).request('/slow', { action: 'reading' })).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(provider.seen.length).toBe(sent);
  });
});

describe('RestClient waits between retries only until its signal aborts', () => {
  let server: Server;
  let url = '';
  beforeAll(async () => {
    // Always 429 with a long Retry-After: the client would wait 30 s before its next try.
    server = createServer((_req, res) => res.writeHead(429, { 'retry-after': '30' }).end('{"error":{"message":"slow down"}}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('an abort during the Retry-After wait rejects with CANCELLED at once', async () => {
    const aborter = new AbortController();
    const api = new RestClient({ baseURL: url, headers: {}, maxRetries: 3, timeoutMs: 60_000, provider: 'Test' });
    const started = Date.now();
    const call = api.request('/x', { action: 'reading', signal: aborter.signal });
    setTimeout(() => aborter.abort(), 100);
    await expect(call).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
