import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { listDatasetsTool } from '../../tools/list-datasets.js';
import { serverInfoTool } from '../../tools/server-info.js';
import { connectTestClient, errorCode, type TestClient } from '../helpers/mcp.js';

/** A client that hands only text to its model must still see the ids, paths and metrics. */
describe('text content carries the structured result', () => {
  let t: TestClient;
  afterEach(async () => t?.close());

  it('is the summary line, then the structured result as compact JSON', async () => {
    t = await connectTestClient();
    const result = await t.call('server_info');
    expect(result.content).toHaveLength(1);
    const text = (result.content[0] as { type: 'text'; text: string }).text;
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^finetune-mcp \d+\.\d+\.\d+; workspace /);
    const json = lines[lines.length - 1];
    expect(json).toBe(JSON.stringify(result.structuredContent));
    const info = z.object(serverInfoTool.output).parse(JSON.parse(json));
    expect(info.workspace).toBe(t.home);
  });

  it('keeps a multi-line summary whole before the JSON line', async () => {
    t = await connectTestClient();
    const result = await t.call('list_datasets');
    const text = (result.content[0] as { type: 'text'; text: string }).text;
    const output = z.object(listDatasetsTool.output).parse(result.structuredContent);
    expect(text).toBe(`${listDatasetsTool.summarize!(output)}\n${JSON.stringify(output)}`);
  });

  it('leaves refusals as [CODE] message and Recovery, with no JSON appended', async () => {
    t = await connectTestClient();
    const refused = await t.call('inspect_dataset', { dataset_id: 'ds_missing' });
    expect(refused.isError).toBe(true);
    expect(errorCode(refused)).toBeDefined();
    const text = (refused.content[0] as { type: 'text'; text: string }).text;
    expect(text).toMatch(/^\[[A-Z_]+\] /);
    expect(text).not.toMatch(/^\{/m);
  });
});
