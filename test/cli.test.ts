import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseCommandLine, parseToolArgs } from '../src/cli.js';
import { registerModelTool } from '../tools/register-model.js';
import { builtCli } from './helpers/build.js';

const home = mkdtempSync(join(tmpdir(), 'ftm-cli-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));
const run = (...args: string[]) =>
  spawnSync(process.execPath, [builtCli(), ...args], { env: { ...process.env, FINETUNE_MCP_HOME: home }, encoding: 'utf8', timeout: 30_000 });

describe('CLI', () => {
  it('types arguments by the tool schema: kebab or snake flags, JSON for non-strings, --args for all at once', () => {
    const tool = {
      inputSchema: {
        type: 'object' as const,
        properties: { dataset_id: { type: 'string' }, max_steps: { type: 'integer' }, redact_pii: { type: 'boolean' }, metrics: { type: 'array' }, name: { type: 'string' } },
      },
    };
    expect(
      parseToolArgs(tool, ['call', '--dataset-id', 'ds_1', '--max_steps', '5', '--redact-pii', '--metrics', '["bleu"]', '--name=123', '--json', '--home', '/x']),
    ).toEqual({ dataset_id: 'ds_1', max_steps: 5, redact_pii: true, metrics: ['bleu'], name: '123' });
    expect(parseToolArgs(tool, ['--args', '{"dataset_id":"ds_2"}', '--redact-pii', 'false'])).toEqual({ dataset_id: 'ds_2', redact_pii: false });
  });

  it('is built as an executable file, so `npx finetune-mcp` can run it without a shell wrapper', () => {
    // npx runs the package's bin directly; a build that left it 0644 failed with "Permission denied".
    const direct = spawnSync(builtCli(), ['--version'], { encoding: 'utf8', timeout: 30_000 });
    expect(direct.error).toBeUndefined();
    expect(direct.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('calls a tool in-process and prints its structured result as JSON', () => {
    const result = run('server_info', '--json');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ name: 'finetune-mcp', workspace: home });
  });

  it('exits 1 with the error on a failing tool, and 2 on an unknown one', () => {
    const failing = run('list_backends', '--include-disabled', 'maybe', '--json');
    expect(failing.status).toBe(1);
    expect(JSON.parse(failing.stdout)).toHaveProperty('error');
    const unknown = run('no_such_tool');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("Unknown command or tool 'no_such_tool'");
  });

  it('prints help and stops on a bad config before doing anything', () => {
    const help = run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('finetune-mcp serve --http');
    const bad = spawnSync(process.execPath, [builtCli(), 'serve'], { env: { ...process.env, FINETUNE_MCP_HOME: home, FINETUNE_MCP_PORT: 'abc' }, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("[CONFIG_INVALID] Config key 'http.port' (from environment variable FINETUNE_MCP_PORT)");
  });

  it("gives a tool its own --version argument; the program's --version only before the command (issue 13 item 19)", () => {
    const argv = ['register_model', '--name', 'support-bot', '--version', '1.0.0', '--job-id', 'job_1'];
    expect(parseCommandLine(argv)).toEqual({ command: 'register_model', version: false });
    const inputSchema = z.toJSONSchema(z.object(registerModelTool.input)) as Parameters<typeof parseToolArgs>[0]['inputSchema'];
    expect(parseToolArgs({ inputSchema }, argv)).toMatchObject({ name: 'support-bot', version: '1.0.0', job_id: 'job_1' });
    expect(parseCommandLine(['--version'])).toEqual({ command: undefined, version: true });
    expect(parseCommandLine(['--version', 'register_model'])).toEqual({ command: 'register_model', version: true });
    expect(parseCommandLine(['serve', '--version'])).toEqual({ command: 'serve', version: true });
    // A global flag's value is not the command.
    expect(parseCommandLine(['--home', '/tmp/ws', 'server_info', '--json'])).toEqual({ command: 'server_info', version: false });
  });
});
