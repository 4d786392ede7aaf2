import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PhoenixSpan } from '../../plugins/phoenix/client.js';
import { extractDatasetTool } from '../../tools/extract-dataset.js';
import { connectTestClient, errorCode, type TestClient } from '../helpers/mcp.js';
import { startFakePhoenix } from './fake-phoenix.js';

const attributes = JSON.parse(readFileSync(new URL('../fixtures/openinference/openinference_client_span_tool_calls.json', import.meta.url), 'utf8')) as Record<string, unknown>;

describe('extract_dataset from Phoenix through the MCP tool', () => {
  let phoenix: Awaited<ReturnType<typeof startFakePhoenix>>;
  let t: TestClient;
  beforeAll(async () => {
    const spans: PhoenixSpan[] = Array.from({ length: 12 }, (_, i) => ({
      id: `s${i}`,
      name: 'llm_call',
      context: { trace_id: `${i}`.padStart(32, '0'), span_id: `${i}`.padStart(16, '0') },
      span_kind: 'LLM',
      parent_id: null,
      start_time: '2026-11-01T00:00:00Z',
      end_time: '2026-11-01T00:00:01Z',
      status_code: i === 11 ? 'ERROR' : 'OK',
      // Each conversation differs, so none is a duplicate of another.
      attributes: { ...attributes, 'llm.input_messages.0.message.contents.0.message_content.text': `Weather in city number ${i}?` },
    }));
    phoenix = await startFakePhoenix({ project: 'support-bot', spans, annotations: [] });
    t = await connectTestClient({ config: { plugins: { phoenix: { base_url: phoenix.url } } } });
  });
  afterAll(async () => {
    await t.close();
    await phoenix.close();
  });

  it('turns LLM spans into a chat dataset version and lists what it skipped', async () => {
    const out = await t.callOk(extractDatasetTool, { source: 'phoenix', query: { project: 'support-bot' }, kind: 'sft', name: 'support-nov' });
    expect(out).toMatchObject({ task_type: 'chat', kind: 'sft', examples: 11, skipped_count: 1, candidates: { sft: 11, dpo: 0, triplets: 0 } });
    expect(out.skipped[0]).toEqual({ ref: '11'.padStart(16, '0'), reason: 'span status ERROR' });
    const version = t.services.datasets.get(out.dataset_id);
    expect(version.manifest.counts.rows).toBe(11);
    const first = JSON.parse(readFileSync(t.services.datasets.rowsPath(out.dataset_id), 'utf8').split('\n')[0]);
    expect(first.messages.at(-1)).toMatchObject({ role: 'assistant', content: 'The weather in Paris is currently rainy with a temperature of 57°F.' });
    expect(first.messages[1].tool_calls[0].function.name).toBe('get_weather');
  });

  it('refuses an empty extraction and an unknown source with clear codes', async () => {
    const empty = await t.call('extract_dataset', { source: 'phoenix', query: { project: 'support-bot', start_time: 'x', annotation_name: 'never', labels: ['x'] }, kind: 'sft' });
    expect(errorCode(empty)).toBe('DATASET_INVALID');
    const unknown = await t.call('extract_dataset', { source: 'nope', query: {} });
    expect(errorCode(unknown)).toBe('PLUGIN_UNAVAILABLE');
    const missingProject = await t.call('extract_dataset', { source: 'phoenix', query: {} });
    expect(errorCode(missingProject)).toBe('INVALID_INPUT');
    expect(missingProject.content[0]).toMatchObject({ text: expect.stringContaining("Phoenix query field 'project'") });
  });
});
