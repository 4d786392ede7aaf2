import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractDatasetTool } from '../../tools/extract-dataset.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';

// Real span attributes (Arize-ai/openinference fixtures; test/fixtures/openinference/SOURCE.md).
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/openinference/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;
const genai = fixture('otel_genai_client_span_tool_calls.json');
const genaiOld = fixture('otel_genai_deprecated_client_span_tool_calls.json');
const toolSpan = fixture('otel_genai_tool_execution_span.json');

/** An attribute value in the OTLP/JSON mapping (AnyValue): ints as strings, as protobuf JSON writes int64. */
function anyValue(v: unknown): Record<string, unknown> {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
  return { kvlistValue: { values: Object.entries(v as object).map(([key, value]) => ({ key, value: anyValue(value) })) } };
}
const hex = (n: number, bytes: number) => n.toString(16).padStart(bytes * 2, '0');
function otlpSpan(n: number, attributes: Record<string, unknown>, status = 1) {
  return {
    traceId: hex(1000 + n, 16),
    spanId: hex(n, 8),
    parentSpanId: '',
    name: String(attributes['gen_ai.operation.name'] ?? 'span'),
    kind: 3,
    startTimeUnixNano: String(1764669600000000000n + BigInt(n) * 1000000n),
    endTimeUnixNano: String(1764669601000000000n + BigInt(n) * 1000000n),
    attributes: Object.entries(attributes).map(([key, value]) => ({ key, value: anyValue(value) })),
    status: { code: status },
  };
}
const exportRequest = (spans: unknown[]) => ({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'support-bot' } }] }, scopeSpans: [{ scope: { name: 'opentelemetry.instrumentation.openai' }, spans }] }] });

/** The fixture's GenAI span with question i (current and deprecated conventions alternate). */
function genaiSpan(i: number) {
  const question = `Weather in Paris, district ${i}?`;
  if (i % 2) return otlpSpan(i, { ...genaiOld, 'gen_ai.prompt': String(genaiOld['gen_ai.prompt']).replace('Weather in Paris?', question) });
  return otlpSpan(i, { ...genai, 'gen_ai.input.messages': String(genai['gen_ai.input.messages']).replace('Weather in Paris?', question) });
}

describe('extract_dataset from exported span files (source "otel-files")', () => {
  let t: TestClient;
  let dir: string;
  beforeAll(async () => {
    t = await connectTestClient();
    dir = join(t.home, 'telemetry');
    mkdirSync(dir);
  });
  afterAll(() => t.close());

  it('an OTLP/JSON export of OTel GenAI spans (current and legacy attributes) becomes SFT chats by kind auto', async () => {
    const spans = [...Array.from({ length: 52 }, (_, i) => genaiSpan(i)), otlpSpan(900, toolSpan), otlpSpan(901, { ...genai, 'gen_ai.output.messages': '[{"role": "assistant", "parts": [' }), otlpSpan(902, genai, 2)];
    const path = join(dir, 'traces.json');
    writeFileSync(path, JSON.stringify(exportRequest(spans)));
    const out = await t.callOk(extractDatasetTool, { source: 'otel-files', query: { path } });
    expect(out).toMatchObject({ kind: 'sft', task_type: 'chat', examples: 52 });
    expect(out.skipped).toEqual([
      { ref: hex(901, 8), reason: 'gen_ai.output.messages is not valid JSON' },
      { ref: hex(902, 8), reason: 'span status ERROR' },
    ]);
    const rows = readFileSync(t.services.datasets.rowsPath(out.dataset_id), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const expected = (q: string) => [
      { role: 'user', content: q },
      { role: 'assistant', content: 'Absolutely! Let me check the weather for you.', tool_calls: [{ id: '1234', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } }] },
      { role: 'tool', content: 'rainy, 57°F', tool_call_id: '1234' },
      { role: 'assistant', content: 'The weather in Paris is currently rainy with a temperature of 57°F.' },
    ];
    expect(rows[0].messages).toEqual(expected('Weather in Paris, district 0?'));
    expect(rows[1].messages).toEqual(expected('Weather in Paris, district 1?'));
    const report = (t.services.datasets.get(out.dataset_id).manifest.report as any).extraction;
    expect(report).toMatchObject({ kind: 'sft', spans: 55, llm_spans: 54, ignored_spans: { TOOL: 1 } });
    const lineage = JSON.parse(readFileSync(join(t.services.datasets.get(out.dataset_id).dir, 'lineage.jsonl'), 'utf8').split('\n')[0]);
    expect(lineage).toEqual({ line: 1, count: 1, sources: [{ trace_id: hex(1000, 16), span_id: hex(0, 8), annotation_ids: [], role: 'example' }] });
  });

  it('retriever and reranker spans with document relevance feedback become triplets by kind auto; bad lines and stray annotations are skipped with the reason', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 50; i++) {
      const span_id = hex(5000 + i, 8);
      const docs = Object.fromEntries(
        ['Reset your password under Settings → Security.', 'Our office is closed on Sundays.', `Password tips, part ${i}.`].flatMap((content, d) => [
          [`retrieval.documents.${d}.document.id`, `kb-${i}-${d}`],
          [`retrieval.documents.${d}.document.content`, content],
          [`retrieval.documents.${d}.document.score`, 0.9 - d * 0.3],
        ]),
      );
      // Phoenix's span JSON: nested context, flat attributes.
      lines.push(JSON.stringify({ name: 'retrieve', context: { trace_id: hex(7000 + i, 16), span_id }, span_kind: 'RETRIEVER', parent_id: null, start_time: '2026-11-02T10:00:00Z', status_code: 'OK', attributes: { 'openinference.span.kind': 'RETRIEVER', 'input.value': `How do I reset my password? (${i})`, ...docs } }));
      lines.push(JSON.stringify({ id: `doc-a-${i}`, span_id, name: 'relevance', annotator_kind: 'HUMAN', document_position: 0, result: { label: 'relevant', score: 1, explanation: null } }));
      lines.push(JSON.stringify({ id: `doc-b-${i}`, span_id, name: 'relevance', annotator_kind: 'LLM', document_position: 1, result: { label: 'unrelated', score: 0, explanation: null } }));
    }
    // A reranker span: relevance from its own scores.
    lines.push(
      JSON.stringify({
        name: 'rerank',
        context: { trace_id: hex(8000, 16), span_id: hex(8000, 8) },
        span_kind: 'RERANKER',
        attributes: { reranker: { query: 'refund policy', output_documents: [{ document: { content: 'Refunds within 30 days.', score: 0.97 } }, { document: { content: 'Shipping takes 3 days.', score: 0.05 } }] } },
      }),
    );
    lines.push('{"name": "broken", "context": ');
    lines.push(JSON.stringify({ id: 'stray', span_id: 'ffffffffffffffff', name: 'relevance', annotator_kind: 'HUMAN', result: { label: 'relevant' } }));
    lines.push(JSON.stringify({ id: 'far', span_id: hex(5000, 8), name: 'relevance', annotator_kind: 'HUMAN', document_position: 7, result: { label: 'relevant' } }));
    const path = join(dir, 'retrievals.jsonl');
    writeFileSync(path, `${lines.join('\n')}\n`);

    const out = await t.callOk(extractDatasetTool, { source: 'otel-files', query: { path }, feedback: { positive_min_score: 0.9, negative_max_score: 0.1 }, name: 'kb-triplets' });
    // One triplet a retrieval (document 0 judged relevant, 1 unrelated; 2 neither, its score 0.3 in between), one from the reranker's own scores.
    expect(out.candidates).toEqual({ sft: 0, dpo: 0, triplets: 51 });
    const explicit = out;
    expect(explicit.kind).toBe('triplets');
    expect(explicit.reason).toMatch(/^Embedding triplets: 51 ≥ 50/);
    expect(explicit.skipped).toEqual(
      expect.arrayContaining([
        { ref: `${path}:${lines.length - 2}`, reason: expect.stringMatching(/^not valid JSON/) },
        { ref: 'stray', reason: "annotation 'relevance' is for span ffffffffffffffff, which is not in the file" },
        { ref: 'far', reason: expect.stringContaining('names document 7') },
      ]),
    );
    const rows = readFileSync(t.services.datasets.rowsPath(explicit.dataset_id), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows[0]).toEqual({ anchor: 'How do I reset my password? (0)', positive: 'Reset your password under Settings → Security.', negative: 'Our office is closed on Sundays.' });
    expect(rows.at(-1)).toEqual({ anchor: 'refund policy', positive: 'Refunds within 30 days.', negative: 'Shipping takes 3 days.' });
    const lineage = JSON.parse(readFileSync(join(t.services.datasets.get(explicit.dataset_id).dir, 'lineage.jsonl'), 'utf8').split('\n')[0]);
    expect(lineage.sources).toEqual([{ trace_id: hex(7000, 16), span_id: hex(5000, 8), annotation_ids: ['doc-a-0', 'doc-b-0'], role: 'query', document_positions: [0, 1] }]);
  });

  it('redact_pii replaces PII in the rows and records the redaction; GenAI content events are read; paths stay inside the allowed roots', async () => {
    const spans = Array.from({ length: 3 }, (_, i) => otlpSpan(300 + i, { ...genai, 'gen_ai.input.messages': String(genai['gen_ai.input.messages']).replace('Weather in Paris?', `Mail me at jo${i}@example.org`) }));
    const path = join(dir, 'pii.json');
    writeFileSync(path, JSON.stringify(exportRequest(spans)));
    const out = await t.callOk(extractDatasetTool, { source: 'otel-files', query: { path }, kind: 'sft', redact_pii: true });
    expect(out.pii).toMatchObject({ by_kind: { email: 3 }, rows_affected: 3, redacted: true, consent_log_id: expect.stringMatching(/^cns_/) });
    const text = readFileSync(t.services.datasets.rowsPath(out.dataset_id), 'utf8');
    expect(text).not.toContain('@example.org');
    expect(JSON.parse(text.split('\n')[0]).messages[0].content).toBe('Mail me at [EMAIL]');
    expect(t.services.datasets.get(out.dataset_id).manifest.governance).toEqual([expect.objectContaining({ kind: 'pii_redaction', found: { email: 3 }, rows_affected: 3 })]);

    // GenAI semconv ≤ 1.27: prompt and completion in span events.
    const evented = { ...otlpSpan(400, { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4' }), events: [
      { name: 'gen_ai.content.prompt', timeUnixNano: '1764669600000000000', attributes: [{ key: 'gen_ai.prompt', value: { stringValue: '[{"role": "user", "content": "Ping?"}]' } }] },
      { name: 'gen_ai.content.completion', timeUnixNano: '1764669600000000001', attributes: [{ key: 'gen_ai.completion', value: { stringValue: '[{"role": "assistant", "content": "Pong."}]' } }] },
    ] };
    const eventsPath = join(dir, 'events.jsonl');
    writeFileSync(eventsPath, `${JSON.stringify(exportRequest([evented]))}\n`);
    const fromEvents = await t.callOk(extractDatasetTool, { source: 'otel-files', query: { path: eventsPath }, kind: 'sft' });
    expect(JSON.parse(readFileSync(t.services.datasets.rowsPath(fromEvents.dataset_id), 'utf8')).messages).toEqual([{ role: 'user', content: 'Ping?' }, { role: 'assistant', content: 'Pong.' }]);

    const outside = await t.call('extract_dataset', { source: 'otel-files', query: { path: '/etc/hostname' } });
    expect(errorCode(outside)).toBe('PATH_NOT_ALLOWED');
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"resourceSpans": [');
    const bad = await t.call('extract_dataset', { source: 'otel-files', query: { path: broken } });
    expect(errorCode(bad)).toBe('FILE_ERROR');
    expect(resultText(bad)).toContain('broken.json is not valid JSON (ends early');
  });
});
