import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PhoenixSpan } from '../../plugins/phoenix/client.js';
import { phoenixPlugin } from '../../plugins/phoenix/index.js';
import { spanToChat } from '../../plugins/phoenix/span-to-chat.js';
import type { DataSource } from '../../src/plugins/providers.js';
import { startFakePhoenix } from './fake-phoenix.js';
import { testPluginContext } from '../../src/plugin-sdk/testing.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/openinference/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;
const toolCalls = fixture('openinference_client_span_tool_calls.json');
const ioOnly = fixture('openinference_client_span_input_output_only.json');

describe('OpenInference span → chat example', () => {
  it('rebuilds messages from flattened attributes: contents parts, tool calls, tool results', () => {
    const result = spanToChat(toolCalls);
    expect(result).toEqual({
      ok: true,
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: 'Absolutely! Let me check the weather for you.', tool_calls: [{ id: '1234', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } }] },
        { role: 'tool', content: 'rainy, 57°F', tool_call_id: '1234' },
        { role: 'assistant', content: 'The weather in Paris is currently rainy with a temperature of 57°F.' },
      ],
    });
  });

  it('falls back to input.value / output.value and gives the same conversation', () => {
    expect(spanToChat(ioOnly)).toEqual(spanToChat(toolCalls));
  });

  it('orders indices numerically (10 after 9) and says why a span is unusable', () => {
    const many: Record<string, unknown> = { 'llm.output_messages.0.message.role': 'assistant', 'llm.output_messages.0.message.content': 'done' };
    for (let i = 0; i < 12; i++) {
      many[`llm.input_messages.${i}.message.role`] = 'user';
      many[`llm.input_messages.${i}.message.content`] = `m${i}`;
    }
    const result = spanToChat(many);
    expect(result.ok && result.messages.slice(0, 12).map((m) => m.content)).toEqual(Array.from({ length: 12 }, (_, i) => `m${i}`));
    expect(spanToChat({ 'llm.input_messages.0.message.role': 'user', 'llm.input_messages.0.message.content': 'hi' })).toEqual({ ok: false, reason: expect.stringContaining('no assistant output') });
    expect(spanToChat({ 'input.value': '{oops', 'input.mime_type': 'application/json' })).toMatchObject({ ok: false });
  });
});

describe('phoenix data source against a local Phoenix REST v1 server', () => {
  const span = (n: number, attributes: Record<string, unknown>, extra: Partial<PhoenixSpan> = {}): PhoenixSpan => ({
    id: Buffer.from(`Span:${n}`).toString('base64'),
    name: 'llm_call',
    context: { trace_id: `${n}`.padStart(32, 'a'), span_id: `${n}`.padStart(16, 'b') },
    span_kind: 'LLM',
    parent_id: null,
    start_time: '2026-01-01T12:00:00Z',
    end_time: '2026-01-01T12:00:01Z',
    status_code: 'OK',
    attributes,
    events: [],
    ...extra,
  });
  const spans = [
    span(1, toolCalls),
    span(2, ioOnly),
    span(3, toolCalls, { status_code: 'ERROR', status_message: 'Connection refused' }),
    span(4, { 'input.value': 'plan', 'output.value': 'ok' }, { span_kind: 'CHAIN' }),
    span(5, { 'llm.input_messages.0.message.role': 'user', 'llm.input_messages.0.message.content': 'hi' }),
    ...Array.from({ length: 7 }, (_, i) => span(10 + i, toolCalls)),
  ];
  const annotation = (spanNumber: number, label: string, score: number) => ({
    id: `a${spanNumber}`,
    span_id: `${spanNumber}`.padStart(16, 'b'),
    name: 'correctness',
    annotator_kind: 'HUMAN',
    result: { label, score, explanation: null },
  });
  let phoenix: Awaited<ReturnType<typeof startFakePhoenix>>;
  let source: DataSource;
  beforeAll(async () => {
    phoenix = await startFakePhoenix({ project: 'support-bot', spans, annotations: [annotation(1, 'correct', 1), annotation(2, 'incorrect', 0)], api_key: 'phx-key' });
    const providers = await phoenixPlugin.create(testPluginContext({ base_url: phoenix.url, api_key: 'phx-key' }));
    source = providers.data_source!;
  });
  afterAll(() => phoenix.close());

  async function collect(query: Record<string, unknown>) {
    const rows: Array<Record<string, unknown>> = [];
    const skipped: Array<{ ref: string; reason: string }> = [];
    for await (const row of source.extract({ ...query, project: 'support-bot' }, (s) => skipped.push(s))) rows.push(row);
    return { rows, skipped };
  }

  it('pages through LLM spans and reports every span it skips, with the reason', async () => {
    const { rows, skipped } = await collect({});
    expect(rows).toHaveLength(9);
    expect(rows[0]).toMatchObject({ metadata: { span_id: '1'.padStart(16, 'b'), model: 'gpt-4-0613' }, messages: expect.arrayContaining([{ role: 'user', content: 'Weather in Paris?' }]) });
    expect(skipped).toEqual([
      { ref: '3'.padStart(16, 'b'), reason: 'span status ERROR: Connection refused' },
      { ref: '5'.padStart(16, 'b'), reason: expect.stringContaining('no assistant output') },
    ]);
    expect(phoenix.requests.filter((r) => r.includes('/spans?')).length).toBe(1);
  });

  it('keeps only spans whose feedback passes, by label or score', async () => {
    const byLabel = await collect({ annotation_name: 'correctness', labels: ['correct'] });
    expect(byLabel.rows.map((r) => (r.metadata as { span_id: string }).span_id)).toEqual(['1'.padStart(16, 'b')]);
    expect(byLabel.skipped).toContainEqual({ ref: '2'.padStart(16, 'b'), reason: "'correctness' annotation does not pass (incorrect)" });
    const byScore = await collect({ annotation_name: 'correctness', min_score: 0.5, limit: 5 });
    expect(byScore.rows).toHaveLength(1);
  });

  it('honours limit, and maps auth and missing-project failures to stable codes', async () => {
    expect((await collect({ limit: 3 })).rows).toHaveLength(3);
    const noKey = (await phoenixPlugin.create(testPluginContext({ base_url: phoenix.url }))).data_source!;
    await expect(noKey.extract({ project: 'support-bot' })[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'AUTH_INVALID' });
    await expect(source.extract({ project: 'nope' })[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const down = (await phoenixPlugin.create(testPluginContext({ base_url: 'http://127.0.0.1:9' }))).data_source!;
    await expect(down.extract({ project: 'x' })[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'UPSTREAM_ERROR' });
  });
});
