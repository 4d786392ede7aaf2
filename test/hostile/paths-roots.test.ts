import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ListRootsRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { serverInfoTool } from '../../tools/server-info.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';

/**
 * Issue 13 item 3: path confinement no longer defaults to the folder the server starts in when that
 * is /, the home folder or a system folder (desktop clients start stdio servers there), and the
 * client's MCP roots are honoured.
 */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ROW = `${JSON.stringify({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] })}\n`;

let work: string;
let a: string;
let b: string;
beforeAll(() => {
  work = realpathSync(mkdtempSync(join(tmpdir(), 'ftm-roots-')));
  a = join(work, 'a.jsonl');
  b = join(work, 'b', 'b.jsonl');
  writeFileSync(a, ROW);
  mkdirSync(join(work, 'b'));
  writeFileSync(b, ROW);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the default allowed roots', () => {
  it('are the start folder only when it is not /, the home folder or a system folder', () => {
    for (const cwd of ['/', homedir(), '/usr/share/doc', '/etc', '/tmp', '/var/tmp']) {
      expect(loadConfig({ argv: [], env: {}, cwd }).allowed_roots, cwd).toEqual([]);
    }
    expect(loadConfig({ argv: [], env: {}, cwd: '/work/project' }).allowed_roots).toEqual(['/work/project']);
    expect(loadConfig({ argv: [], env: {}, cwd: join(homedir(), 'project') }).allowed_roots).toEqual([join(homedir(), 'project')]);
    // An explicit setting is taken as given.
    expect(loadConfig({ argv: [], env: { FINETUNE_MCP_ALLOWED_ROOTS: '/srv/data' }, cwd: '/' }).allowed_roots).toEqual(['/srv/data']);
  });

  it('a stdio server started from / refuses /etc/passwd and /usr/share/doc, and says how to allow a folder', async () => {
    const home = mkdtempSync(join(tmpdir(), 'ftm-roots-home-'));
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['--import', import.meta.resolve('tsx'), join(REPO_ROOT, 'src/cli.ts'), 'serve'],
      cwd: '/',
      env: { ...process.env, FINETUNE_MCP_HOME: home, FINETUNE_MCP_LOG_LEVEL: 'warn', FINETUNE_MCP_ALLOWED_ROOTS: '' } as Record<string, string>,
      stderr: 'ignore',
    });
    const client = new Client({ name: 'desktop-like', version: '0' });
    await client.connect(transport);
    try {
      for (const path of ['/etc/passwd', '/usr/share/doc', join(work, 'a.jsonl')]) {
        const result = (await client.callTool({ name: 'validate_dataset', arguments: { path } })) as CallToolResult;
        expect(result.isError, path).toBe(true);
        expect(errorCode(result)).toBe('PATH_NOT_ALLOWED');
        expect(resultText(result)).toMatch(/allowed_roots/);
        expect(resultText(result)).toMatch(/FINETUNE_MCP_ALLOWED_ROOTS/);
      }
      const info = (await client.callTool({ name: 'server_info', arguments: {} })) as CallToolResult;
      expect((info.structuredContent as { allowed_roots: string[] }).allowed_roots).toEqual([realpathSync(home)]);
    } finally {
      await client.close();
      rmSync(home, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("the client's MCP roots", () => {
  let t: TestClient;
  afterEach(async () => t?.close());

  it('are allowed besides the workspace, asked again after roots/list_changed', async () => {
    t = await connectTestClient({ config: { allowed_roots: [] }, clientCapabilities: { capabilities: { roots: { listChanged: true } } } });
    let roots = [work];
    let asked = 0;
    t.client.setRequestHandler(ListRootsRequestSchema, async () => {
      asked++;
      return { roots: roots.map((r) => ({ uri: pathToFileURL(r).href, name: 'project' })) };
    });
    const validate = (path: string) => t.call('validate_dataset', { path });
    expect((await validate(a)).isError).toBeFalsy();
    expect((await validate(b)).isError).toBeFalsy();
    const info = await t.callOk(serverInfoTool);
    expect(info.allowed_roots).toEqual([realpathSync(t.home), work]);
    expect(asked).toBe(1); // asked once, not on every call

    roots = [join(work, 'b')];
    await t.client.sendRootsListChanged();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const refused = await validate(a);
    expect(errorCode(refused)).toBe('PATH_NOT_ALLOWED');
    expect((await validate(b)).isError).toBeFalsy();
    expect(asked).toBe(2);
  });

  it('that are /, the home folder or a system folder are not used: every file would be open to any call', async () => {
    t = await connectTestClient({ config: { allowed_roots: [] }, clientCapabilities: { capabilities: { roots: {} } } });
    t.client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: ['/', homedir(), '/etc', work].map((r) => ({ uri: pathToFileURL(r).href })) }));
    const refused = await t.call('validate_dataset', { path: '/etc/hostname' });
    expect(errorCode(refused)).toBe('PATH_NOT_ALLOWED');
    expect((await t.call('validate_dataset', { path: a })).isError).toBeFalsy();
    expect((await t.callOk(serverInfoTool)).allowed_roots).toEqual([realpathSync(t.home), work]);
  });

  it('a client without the roots capability gets the configured roots only', async () => {
    t = await connectTestClient({ config: { allowed_roots: [] } });
    expect(errorCode(await t.call('validate_dataset', { path: a }))).toBe('PATH_NOT_ALLOWED');
    expect((await t.callOk(serverInfoTool)).allowed_roots).toEqual([realpathSync(t.home)]);
  });
});
