import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AnyToolDefinition } from '../../src/server/tool.js';
import { cleanDatasetTool } from '../../tools/clean-dataset.js';
import { exportDatasetTool } from '../../tools/export-dataset.js';
import { inspectDatasetTool } from '../../tools/inspect-dataset.js';
import { listDatasetsTool } from '../../tools/list-datasets.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { splitDatasetTool } from '../../tools/split-dataset.js';
import { validateDatasetTool } from '../../tools/validate-dataset.js';
import { TOOLS } from '../../tools/index.js';
import type { TestClient } from '../helpers/mcp.js';
import { datasetClient } from './helpers.js';

const DATASET_TOOLS: AnyToolDefinition[] = [prepareDatasetTool, validateDatasetTool, cleanDatasetTool, splitDatasetTool, inspectDatasetTool, listDatasetsTool, exportDatasetTool];

/** Paths of JSON-schema properties that lack a description. */
function undescribed(schema: Record<string, unknown>, path = ''): string[] {
  const missing: string[] = [];
  const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  for (const [name, property] of Object.entries(properties)) {
    const here = `${path}${name}`;
    if (!property.description) missing.push(here);
    const inner = (property.items as Record<string, unknown> | undefined) ?? property;
    if (inner.properties) missing.push(...undescribed(inner, `${here}.`));
  }
  return missing;
}

describe('dataset tools', () => {
  it('are registered, describe every input and output field, and annotate honestly', () => {
    for (const tool of DATASET_TOOLS) {
      expect(TOOLS).toContain(tool);
      expect(undescribed(z.toJSONSchema(z.object(tool.input)) as Record<string, unknown>), `${tool.name} input`).toEqual([]);
      expect(undescribed(z.toJSONSchema(z.object(tool.output)) as Record<string, unknown>), `${tool.name} output`).toEqual([]);
      expect(tool.annotations.openWorldHint).toBe(false);
    }
    for (const tool of [validateDatasetTool, inspectDatasetTool, listDatasetsTool]) expect(tool.annotations.readOnlyHint).toBe(true);
    for (const tool of [prepareDatasetTool, cleanDatasetTool, splitDatasetTool, exportDatasetTool]) expect(tool.annotations.readOnlyHint).toBe(false);
  });

  describe('long work', () => {
    let t: TestClient;
    let scratch: string;
    let big: string;
    beforeAll(async () => {
      scratch = mkdtempSync(join(tmpdir(), 'ftm-ds-tools-'));
      t = await datasetClient([scratch]);
      big = join(scratch, 'big.jsonl');
      const lines: string[] = [];
      for (let i = 0; i < 40_000; i++) lines.push(JSON.stringify({ messages: [{ role: 'user', content: `Question ${i}: ${'lorem ipsum '.repeat(10)}` }, { role: 'assistant', content: `Answer ${i}.` }] }));
      writeFileSync(big, lines.join('\n'));
    });
    afterAll(async () => {
      await t?.close();
      rmSync(scratch, { recursive: true, force: true });
    });

    it('reports progress while validating when the client asks for it', async () => {
      const seen: number[] = [];
      const result = await t.client.callTool({ name: 'validate_dataset', arguments: { path: big, count_tokens: false } }, CallToolResultSchema, {
        onprogress: (p) => seen.push(p.progress),
      });
      expect(result.isError).toBeFalsy();
      expect(seen.length).toBeGreaterThan(2);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
    });

    it('stops an import when the client cancels, leaving no version and no half-written folder', async () => {
      const before = t.services.datasets.list({ limit: 1, offset: 0 }).total;
      const controller = new AbortController();
      const call = t.client.callTool({ name: 'prepare_dataset', arguments: { path: big } }, CallToolResultSchema, {
        signal: controller.signal,
        onprogress: () => controller.abort(),
      });
      await expect(call).rejects.toThrow();
      // Wait until the server side has stopped writing (its temp folder is gone), then look.
      const temps = () => readdirSync(join(t.home, 'datasets')).filter((name) => name.includes('.tmp-'));
      for (let waited = 0; waited < 10_000 && (waited < 200 || temps().length); waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(t.services.datasets.list({ limit: 1, offset: 0 }).total).toBe(before);
      expect(readdirSync(join(t.home, 'datasets')).filter((name) => name.includes('.tmp-'))).toEqual([]);
    });
  });
});
