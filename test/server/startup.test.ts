import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { holdUntilReady } from '../../src/server/startup-gate.js';
import { REPO_ROOT } from '../helpers/build.js';

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'ftm-startup-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

// The local engine (graph builder, ops, runtime) is heavy; the config checks import_model uses live in src/models/files.
const HEAVY = /node_modules\/(better-sqlite3|prom-client|onnx-proto|protobufjs|openai|yaml|vega[^/]*|d3-[^/]+|@resvg|csv-parse|onnxruntime-node|@hono|express|@huggingface)\/|\/plugins\/local\/(engine|export|onnx)\//;
// What tools run, as opposed to what their definitions list: a tool's handler imports it with `await import()`.
const HANDLER_CODE = /\/src\/(evaluation\/(evaluate|compare-run|compare|human-eval|score-outputs|cases|runners\/[^/]+)|registry\/(index|registry|card-service|experiments|compare-versions|model-card)|datasets\/(clean|split|extract)|models\/(inspect|export)|plots\/[^/]+)\.[jt]s$/;

describe('what the stdio server loads before its handshake', () => {
  it('builds services and the MCP server without the database, native modules or heavy libraries; startup() opens them', () => {
    const src = (path: string) => JSON.stringify(pathToFileURL(join(REPO_ROOT, path)).href);
    // ESM loads are seen by a load hook, CommonJS ones (createRequire, CJS packages) in require.cache;
    // the local engine (ONNX graph builder and ops) is ours but heavy too.
    const hook = `data:text/javascript,${encodeURIComponent(
      'export async function load(url, context, next) { const result = await next(url, context); if (url.includes("/node_modules/") || url.includes("/plugins/local/") || /\\/src\\/(evaluation|registry|datasets|models|training|plots)\\//.test(url)) process.stderr.write("ESM " + url + "\\n"); return result; }',
    )}`;
    const script = `
      import { register, createRequire } from 'node:module';
      import { existsSync } from 'node:fs';
      register(${JSON.stringify(hook)});
      const { loadConfig } = await import(${src('src/config.ts')});
      const { createSilentLogger } = await import(${src('src/observability/logger.ts')});
      const { createServices } = await import(${src('src/services.ts')});
      const { createServer } = await import(${src('src/server/create-server.ts')});
      await import(${src('src/server/stdio.ts')});
      const services = await createServices(loadConfig({ argv: ['serve'], env: { FINETUNE_MCP_HOME: process.env.HOME_UNDER_TEST } }), { logger: createSilentLogger(), deferStartup: true });
      createServer({ services });
      const cjs = () => Object.keys(createRequire(import.meta.url).cache);
      const db = () => existsSync(process.env.HOME_UNDER_TEST + '/workspace.db');
      const before = { cjs: cjs(), db: db() };
      await services.startup();
      const jobs = services.jobs.jobLedger.list({}).total;
      console.log(JSON.stringify({ before, after: { cjs: cjs(), db: db() }, jobs }));
      process.exit(0);
    `;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, HOME_UNDER_TEST: home },
    });
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout.trim().split('\n').pop()!) as { before: { cjs: string[]; db: boolean }; after: { cjs: string[]; db: boolean }; jobs: number };
    const esm = run.stderr.split('\n').filter((l) => l.startsWith('ESM '));
    expect(esm.length).toBeGreaterThan(0); // the hook works: zod and the SDK are seen
    expect(esm.filter((l) => HEAVY.test(l))).toEqual([]);
    expect(esm.filter((l) => HANDLER_CODE.test(l))).toEqual([]);
    expect(out.before.cjs.filter((p) => HEAVY.test(p))).toEqual([]);
    expect(out.before.db).toBe(false);
    // startup() runs the duties: the database opens (better-sqlite3 loads) and the ledger answers.
    expect(out.after.db).toBe(true);
    expect(out.after.cjs.some((p) => p.includes('/node_modules/better-sqlite3/'))).toBe(true);
    expect(out.jobs).toBe(0);
  }, 60_000);
});

describe('the stdio server runs its start-up duties after the handshake', () => {
  it('sweeps a dead writer’s temp file and answers tool calls that need the workspace', async () => {
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;
    mkdirSync(join(home, 'datasets'), { recursive: true });
    const temp = join(home, 'datasets', `.manifest.json.tmp-${deadPid}-abcd`);
    writeFileSync(temp, 'partial');
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['--import', 'tsx', join(REPO_ROOT, 'src/cli.ts'), 'serve'],
      cwd: REPO_ROOT,
      env: { ...process.env, FINETUNE_MCP_HOME: home, FINETUNE_MCP_LOG_LEVEL: 'warn' } as Record<string, string>,
      stderr: 'ignore',
    });
    const client = new Client({ name: 'startup-test', version: '0' });
    await client.connect(transport);
    try {
      const jobs = await client.callTool({ name: 'list_jobs', arguments: {} });
      expect(jobs.isError).toBeFalsy();
      expect(existsSync(join(home, 'workspace.db'))).toBe(true);
      expect(readdirSync(join(home, 'datasets'))).toEqual([]);
    } finally {
      await client.close();
    }
  }, 60_000);
});

describe('holdUntilReady', () => {
  async function connect(ready: () => Promise<void>) {
    const server = new McpServer({ name: 'gate-test', version: '0' });
    server.registerTool('touch', { description: 'needs the workspace' }, async () => ({ content: [{ type: 'text', text: 'ok' }] }));
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    holdUntilReady(serverSide, ready);
    const client = new Client({ name: 'gate-client', version: '0' });
    await client.connect(clientSide);
    return client;
  }

  it('answers the handshake and listings at once, and holds tool calls until ready, in order', async () => {
    let open!: () => void;
    const ready = new Promise<void>((resolve) => (open = resolve));
    const client = await connect(() => ready);
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['touch']);
    const order: string[] = [];
    const first = client.callTool({ name: 'touch', arguments: {} }).then(() => order.push('first'));
    const second = client.callTool({ name: 'touch', arguments: {} }).then(() => order.push('second'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(order).toEqual([]);
    open();
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);
    await client.close();
  });

  it('answers held requests with the start-up error, and tries again on the next one', async () => {
    let attempts = 0;
    const client = await connect(async () => {
      attempts++;
      if (attempts === 1) throw new Error('database is locked');
    });
    await expect(client.callTool({ name: 'touch', arguments: {} })).rejects.toThrow(/could not finish starting: database is locked/);
    const result = await client.callTool({ name: 'touch', arguments: {} });
    expect(result.content).toEqual([{ type: 'text', text: 'ok' }]);
    expect(attempts).toBe(2);
    await client.close();
  });
});
