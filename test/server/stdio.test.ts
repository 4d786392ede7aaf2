import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtCli } from '../helpers/build.js';

describe('the built binary over stdio', () => {
  let home: string;
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'ftm-stdio-'));
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('answers the SDK stdio client, and every stdout line it writes is JSON-RPC', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [builtCli(), 'serve'],
      env: { ...process.env, FINETUNE_MCP_HOME: home, FINETUNE_MCP_LOG_LEVEL: 'debug' } as Record<string, string>,
      stderr: 'pipe',
    });
    const parseErrors: Error[] = [];
    const client = new Client({ name: 'stdio-test', version: '0' });
    await client.connect(transport);
    transport.onerror = (error) => parseErrors.push(error);
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('server_info');
    const info = await client.callTool({ name: 'server_info', arguments: {} });
    expect(info.isError).toBeFalsy();
    expect((info.structuredContent as { workspace: string }).workspace).toBe(home);
    const bad = await client.callTool({ name: 'list_backends', arguments: { include_disabled: 'yes' } });
    expect(bad.isError).toBe(true);
    await client.close();
    expect(parseErrors).toEqual([]);
    expect(stderr).toContain('"msg":"serving MCP over stdio"');
  });

  it('writes nothing but JSON-RPC lines on stdout for a raw session', async () => {
    const child = spawn(process.execPath, [builtCli(), 'serve'], { env: { ...process.env, FINETUNE_MCP_HOME: home }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const send = (message: object) => child.stdin.write(`${JSON.stringify(message)}\n`);
    send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'server_info', arguments: {} } });
    send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'no_such_tool', arguments: {} } });
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (stdout.split('\n').filter(Boolean).length >= 3) {
          clearInterval(timer);
          resolve();
        }
      }, 20);
    });
    child.stdin.end();
    await new Promise((resolve) => child.once('exit', resolve));
    const lines = stdout.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ jsonrpc: '2.0' });
  });
});
