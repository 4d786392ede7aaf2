import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definePlugin, PLUGIN_API_VERSION } from '../../src/plugins/types.js';
import { extractDatasetTool } from '../../tools/extract-dataset.js';
import { connectTestClient, errorCode, type TestClient } from '../helpers/mcp.js';

/** A data source with only `extract` (finished rows, as third-party plugins written before `spans` give). */
const rowsSource = definePlugin({
  meta: { name: 'kb-rows', version: '1.0.0', api_version: PLUGIN_API_VERSION, description: 'gives finished chat rows' },
  provides: ['data_source'],
  capabilities: {},
  create: () => ({
    data_source: {
      async *extract(_query, onSkip) {
        for (const i of [0, 1, 0]) {
          yield { messages: [{ role: 'user', content: `q${i}` }, { role: 'assistant', content: `a${i}` }], metadata: { trace_id: `t${i}`, span_id: `s${i}` } };
        }
        onSkip?.({ ref: 'r9', reason: 'empty record' });
      },
    },
  }),
});

describe('extract_dataset from a source that gives finished rows', () => {
  let t: TestClient;
  beforeAll(async () => {
    t = await connectTestClient({ plugins: [rowsSource] });
  });
  afterAll(() => t.close());

  it('keeps the rows as given, folds identical ones and keeps their lineage from the rows metadata', async () => {
    const out = await t.callOk(extractDatasetTool, { source: 'kb-rows', query: {} });
    expect(out).toMatchObject({ kind: 'rows', task_type: 'chat', examples: 2, folded_duplicates: 1, skipped: [{ ref: 'r9', reason: 'empty record' }] });
    expect(out.candidates).toBeUndefined();
    const lineage = readFileSync(join(t.services.datasets.get(out.dataset_id).dir, 'lineage.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lineage[0]).toEqual({ line: 1, count: 2, sources: [0, 0].map(() => ({ trace_id: 't0', span_id: 's0', annotation_ids: [], role: 'example' })) });
  });

  it('refuses a kind that needs spans', async () => {
    expect(errorCode(await t.call('extract_dataset', { source: 'kb-rows', query: {}, kind: 'dpo' }))).toBe('CAPABILITY_UNSUPPORTED');
  });
});
