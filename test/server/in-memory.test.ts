import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FinetuneError } from '../../src/errors.js';
import { defineTool } from '../../src/server/tool.js';
import { serverInfoTool } from '../../tools/server-info.js';
import { TOOLS } from '../../tools/index.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { createServer } from '../../src/server/create-server.js';

type JsonSchema = { type?: string; description?: string; properties?: Record<string, JsonSchema>; items?: JsonSchema; anyOf?: JsonSchema[] };

/** Every property, at every depth, with its path, so a missing description names where it is. */
function undescribed(schema: JsonSchema, path: string): string[] {
  const missing: string[] = [];
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const here = `${path}.${key}`;
    if (!child.description) missing.push(here);
    missing.push(...undescribed(child, here));
    if (child.items) missing.push(...undescribed(child.items, `${here}[]`));
  }
  return missing;
}

describe('MCP server through the real SDK client', () => {
  let t: TestClient;
  afterEach(async () => t?.close());

  it('lists every tool with input and output schemas and honest annotations', async () => {
    t = await connectTestClient();
    const { tools } = await t.client.listTools();
    expect(tools.map((x) => x.name).sort()).toEqual(TOOLS.map((x) => x.name).sort());
    for (const tool of tools) {
      expect(tool.name).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(tool.description?.length ?? 0).toBeGreaterThan(60);
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.outputSchema?.type).toBe('object');
      expect(tool.annotations?.readOnlyHint ?? tool.annotations?.destructiveHint).toBeDefined();
    }
  });

  it('describes every input field of every tool', async () => {
    t = await connectTestClient();
    const { tools } = await t.client.listTools();
    const missing = tools.flatMap((tool) => undescribed(tool.inputSchema as JsonSchema, tool.name));
    expect(missing).toEqual([]);
  });

  it('server_info parses with its own output schema and reports the workspace', async () => {
    t = await connectTestClient();
    const info = await t.callOk(serverInfoTool);
    expect(info.name).toBe('finetune-mcp');
    expect(info.workspace).toBe(t.home);
    expect(info.onnxruntime.available).toBe(true);
    expect(info.onnxruntime.providers).toContain('cpu');
  });

  it('offers the workflow prompt and the plugins resource', async () => {
    t = await connectTestClient();
    const prompt = await t.client.getPrompt({ name: 'fine_tune_workflow', arguments: { data_path: './data/a.jsonl' } });
    expect(JSON.stringify(prompt.messages)).toContain('validate_dataset');
    const resource = await t.client.readResource({ uri: 'finetune://plugins' });
    expect(JSON.parse((resource.contents[0] as { text: string }).text)).toHaveProperty('plugins');
  });
});

describe('tool failures are results, never crashes', () => {
  const refusing = defineTool({
    name: 'refuse',
    title: 'Refuse',
    description: 'Test tool that always refuses with a located dataset error, to check the error path end to end.',
    input: { path: z.string().describe('A path.') },
    output: { ok: z.boolean().describe('Never returned.') },
    annotations: { readOnlyHint: true },
    async handler({ path }) {
      throw new FinetuneError('DATASET_INVALID', `${path}:3 field messages[1].role: 'robot' is not a role.`, { details: { file: path, line: 3, field: 'messages[1].role' } });
    },
  });
  const crashing = defineTool({
    name: 'crash',
    title: 'Crash',
    description: 'Test tool that throws an unexpected error, which must become INTERNAL without a stack trace in the text.',
    input: {},
    output: { ok: z.boolean().describe('Never returned.') },
    annotations: { readOnlyHint: true },
    async handler() {
      throw new TypeError('cannot read properties of undefined');
    },
  });

  it('returns isError with [CODE], location, Recovery and _meta; unknown errors become INTERNAL', async () => {
    const base = await connectTestClient();
    const server = createServer({ services: base.services, tools: [refusing, crashing] });
    const client = new Client({ name: 't', version: '0' });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await Promise.all([server.connect(b), client.connect(a)]);
    try {
      const refused = await client.callTool({ name: 'refuse', arguments: { path: 'data.jsonl' } });
      expect(refused.isError).toBe(true);
      expect(resultText(refused as never)).toMatch(/^\[DATASET_INVALID\] data\.jsonl:3 field messages\[1\]\.role/);
      expect(resultText(refused as never)).toContain('\nRecovery: ');
      expect(refused._meta).toMatchObject({ code: 'DATASET_INVALID', retryable: false, details: { line: 3 } });

      const crashed = await client.callTool({ name: 'crash', arguments: {} });
      expect(errorCode(crashed as never)).toBe('INTERNAL');
      expect(resultText(crashed as never)).not.toContain('    at ');

      const badArgs = await client.callTool({ name: 'refuse', arguments: { path: 42 } });
      expect(badArgs.isError).toBe(true);
      // The server is still alive after all of that.
      expect((await client.listTools()).tools).toHaveLength(2);
    } finally {
      await client.close();
      await base.close();
    }
  });
});
