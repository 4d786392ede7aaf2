import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PhoenixSpan, PhoenixSpanAnnotation } from '../../plugins/phoenix/client.js';
import { extractDatasetTool } from '../../tools/extract-dataset.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { startFakePhoenix } from './fake-phoenix.js';

// Real OpenInference attributes (Arize-ai/openinference fixtures, test/fixtures/openinference/SOURCE.md); each span varies the question and the answer.
const base = JSON.parse(readFileSync(new URL('../fixtures/openinference/openinference_client_span_tool_calls.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const QUESTION = 'llm.input_messages.0.message.contents.0.message_content.text';
const ANSWER = 'llm.output_messages.0.message.contents.0.message_content.text';

let seq = 0;
function llmSpan(question: string, answer: string, extra: Partial<PhoenixSpan> = {}): PhoenixSpan {
  const n = ++seq;
  return {
    id: `U3BhbjoxMjM${n}`,
    name: 'ChatCompletion',
    context: { trace_id: n.toString(16).padStart(32, '0'), span_id: n.toString(16).padStart(16, 'a') },
    span_kind: 'LLM',
    parent_id: null,
    start_time: '2026-11-02T10:00:00Z',
    end_time: '2026-11-02T10:00:01Z',
    status_code: 'OK',
    attributes: { ...base, [QUESTION]: question, [ANSWER]: answer },
    events: [],
    ...extra,
  };
}

let aseq = 0;
function annotation(span: PhoenixSpan, result: { label?: string; score?: number; explanation?: string }, name = 'correctness', annotator_kind = 'HUMAN'): PhoenixSpanAnnotation {
  return { id: `QW5ub3RhdGlvbjo${++aseq}`, span_id: span.context.span_id, name, annotator_kind, result: { label: result.label ?? null, score: result.score ?? null, explanation: result.explanation ?? null }, metadata: {} };
}

describe('extract_dataset from Phoenix: the kind follows the feedback', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });
  async function setup(spans: PhoenixSpan[], annotations: PhoenixSpanAnnotation[], extra: Parameters<typeof startFakePhoenix>[0] extends infer O ? Partial<O> : never = {}, plugin: Record<string, unknown> = {}) {
    const phoenix = await startFakePhoenix({ project: 'support-bot', spans, annotations, ...extra });
    open.push(phoenix);
    const t: TestClient = await connectTestClient({ config: { plugins: { phoenix: { base_url: phoenix.url, retry_base_ms: 1, ...plugin } } } });
    open.push(t);
    return { phoenix, t };
  }

  it('≥ 20 inputs with an approved and a rejected answer: kind auto builds DPO pairs and says why, with lineage, folding and PII counts', async () => {
    const spans: PhoenixSpan[] = [];
    const annotations: PhoenixSpanAnnotation[] = [];
    for (let g = 0; g < 22; g++) {
      const good = llmSpan(`Weather in city ${g}?`, g === 3 ? `Sunny in city ${g}; alerts go to alerts@example.com.` : `It is sunny in city ${g}, 21°C.`);
      const bad = llmSpan(`Weather in city ${g}?`, 'I cannot know that.');
      spans.push(good, bad);
      annotations.push(annotation(good, { label: 'correct', score: 1 }), annotation(bad, { label: 'incorrect', score: 0 }));
    }
    // The same pair again from other spans: one row, counted twice.
    const again = [llmSpan('Weather in city 0?', 'It is sunny in city 0, 21°C.'), llmSpan('Weather in city 0?', 'I cannot know that.')];
    spans.push(...again);
    annotations.push(annotation(again[0], { label: 'correct' }), annotation(again[1], { label: 'incorrect' }));
    // A human correction of a rejected answer pairs the correction with it.
    const corrected = llmSpan('Weather in Oslo?', 'It is always sunny in Oslo.');
    spans.push(corrected);
    annotations.push(annotation(corrected, { explanation: 'Oslo is cloudy today, 4°C.' }, 'correction'));
    // Bad input: malformed attribute JSON, no messages at all.
    spans.push(llmSpan('x', 'y', { attributes: { 'openinference.span.kind': 'LLM', 'input.value': '{"messages": [', 'input.mime_type': 'application/json', 'output.value': 'ok' } }));
    spans.push(llmSpan('x', 'y', { attributes: { 'openinference.span.kind': 'LLM', 'llm.model_name': 'gpt-4' } }));
    const { t } = await setup(spans, annotations);

    const out = await t.callOk(extractDatasetTool, { source: 'phoenix', query: { project: 'support-bot' }, kind: 'auto' });
    expect(out).toMatchObject({ kind: 'dpo', task_type: 'preference', candidates: { dpo: 24 } });
    expect(out.reason).toMatch(/^DPO: 24 preference pairs ≥ 20 \(datasets\.extraction\.min_dpo_pairs\)/);
    expect(out.examples).toBe(23);
    expect(out.folded_duplicates).toBe(1);
    expect(out.pii).toEqual({ by_kind: { email: 1 }, rows_affected: 1, redacted: false, consent_log_id: null });
    expect(out.skipped).toEqual(
      expect.arrayContaining([
        { ref: spans.at(-2)!.context.span_id, reason: 'input.value is not valid JSON although input.mime_type says so' },
        { ref: spans.at(-1)!.context.span_id, reason: expect.stringContaining('no input messages') },
      ]),
    );

    const version = t.services.datasets.get(out.dataset_id);
    const rows = readFileSync(t.services.datasets.rowsPath(out.dataset_id), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows[0].prompt.at(-1)).toMatchObject({ role: 'tool', content: 'rainy, 57°F' });
    expect(rows[0]).toMatchObject({ chosen: [{ role: 'assistant', content: 'It is sunny in city 0, 21°C.' }], rejected: [{ role: 'assistant', content: 'I cannot know that.' }] });
    const oslo = rows.find((r) => r.chosen[0].content === 'Oslo is cloudy today, 4°C.');
    expect(oslo.rejected[0].content).toBe('It is always sunny in Oslo.');

    expect((version.manifest.report as any).extraction).toMatchObject({ kind: 'dpo', lineage_file: 'lineage.jsonl', folded_duplicates: 1, pii: { by_kind: { email: 1 } } });
    const lineage = readFileSync(join(version.dir, 'lineage.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lineage).toHaveLength(rows.length);
    expect(lineage[0]).toEqual({
      line: 1,
      count: 2,
      sources: [
        { trace_id: spans[0].context.trace_id, span_id: spans[0].context.span_id, annotation_ids: [annotations[0].id], role: 'chosen' },
        { trace_id: spans[1].context.trace_id, span_id: spans[1].context.span_id, annotation_ids: [annotations[1].id], role: 'rejected' },
        { trace_id: again[0].context.trace_id, span_id: again[0].context.span_id, annotation_ids: [annotations.at(-3)!.id], role: 'chosen' },
        { trace_id: again[1].context.trace_id, span_id: again[1].context.span_id, annotation_ids: [annotations.at(-2)!.id], role: 'rejected' },
      ],
    });
    const osloLine = lineage[rows.indexOf(oslo)];
    expect(osloLine.sources.map((s: { span_id: string; role: string }) => [s.span_id, s.role])).toEqual([
      [corrected.context.span_id, 'chosen'],
      [corrected.context.span_id, 'rejected'],
    ]);
  });

  it('only approved answers: kind auto builds SFT chats and says why; filters by annotator kind', async () => {
    const spans = Array.from({ length: 55 }, (_, i) => llmSpan(`Weather in town ${i}?`, `Town ${i}: dry, 15°C.`));
    const annotations = spans.map((s, i) => annotation(s, { label: 'correct', score: 0.9 }, 'correctness', i < 5 ? 'HUMAN' : 'LLM'));
    const { t } = await setup(spans, annotations);
    const out = await t.callOk(extractDatasetTool, { source: 'phoenix', query: { project: 'support-bot' } });
    expect(out).toMatchObject({ kind: 'sft', task_type: 'chat', examples: 55, candidates: { sft: 55, dpo: 0, triplets: 0 } });
    expect(out.reason).toMatch(/^SFT: 55 approved examples ≥ 50 \(datasets\.extraction\.min_sft_examples\), and 0 pairs < 20 for DPO/);

    const humans = await t.callOk(extractDatasetTool, { source: 'phoenix', query: { project: 'support-bot' }, kind: 'sft', feedback: { annotation_name: 'correctness', annotator_kinds: ['HUMAN'] } });
    expect(humans.examples).toBe(5);
    expect(humans.skipped).toContainEqual({ ref: spans[5].context.span_id, reason: "not approved: no 'correctness' annotation" });
    const strict = await t.call('extract_dataset', { source: 'phoenix', query: { project: 'support-bot' }, kind: 'sft', feedback: { annotation_name: 'correctness', min_score: 0.95 } });
    expect(errorCode(strict)).toBe('DATASET_INVALID');
    expect(resultText(strict)).toMatch(/e\.g\. [0-9a]{16}: rejected by correctness=correct \((HUMAN|LLM)\)/);
  });

  it('retriever spans with document feedback (span annotations naming metadata.document_position) become triplets', async () => {
    const spans = [0, 1].map((i) =>
      llmSpan('', '', {
        name: 'retrieve',
        span_kind: 'RETRIEVER',
        // Phoenix may send attributes nested; they are flattened on the way in.
        attributes: { openinference: { span: { kind: 'RETRIEVER' } }, input: { value: `vpn setup ${i}` }, retrieval: { documents: [{ document: { content: 'Install the VPN client, then sign in.' } }, { document: { content: 'Lunch menu for Friday.' } }] } },
      }),
    );
    const annotations = spans.flatMap((s) => [
      { ...annotation(s, { label: 'relevant' }, 'relevance'), metadata: { document_position: 0 } },
      { ...annotation(s, { label: 'irrelevant' }, 'relevance', 'LLM'), metadata: { document_position: 1 } },
    ]);
    const { t } = await setup(spans, annotations);
    const out = await t.callOk(extractDatasetTool, { source: 'phoenix', query: { project: 'support-bot' }, kind: 'triplets' });
    expect(out).toMatchObject({ kind: 'triplets', task_type: 'triplet', examples: 2 });
    const rows = readFileSync(t.services.datasets.rowsPath(out.dataset_id), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows[1]).toEqual({ anchor: 'vpn setup 1', positive: 'Install the VPN client, then sign in.', negative: 'Lunch menu for Friday.' });
  });

  it('too little feedback for any kind: refused with the counts, nothing written', async () => {
    const spans = [llmSpan('a?', 'b'), llmSpan('a?', 'c')];
    const { t, phoenix } = await setup(spans, [annotation(spans[0], { label: 'good' }), annotation(spans[1], { label: 'bad' })]);
    const result = await t.call('extract_dataset', { source: 'phoenix', query: { project: 'support-bot' } });
    expect(errorCode(result)).toBe('DATASET_INVALID');
    expect(resultText(result)).toContain('1 preference pair(s), 1 SFT example(s), 0 triplet(s)');
    expect(t.services.datasets.list({ limit: 10, offset: 0 }).total).toBe(0);

    // The thresholds are configuration: with datasets.extraction.min_dpo_pairs 1, the same spans make DPO.
    const lowered = await connectTestClient({ config: { plugins: { phoenix: { base_url: phoenix.url } }, datasets: { extraction: { min_dpo_pairs: 1 } } } });
    open.push(lowered);
    const dpo = await lowered.callOk(extractDatasetTool, { source: 'phoenix', query: { project: 'support-bot' } });
    expect(dpo).toMatchObject({ kind: 'dpo', examples: 1, reason: expect.stringMatching(/^DPO: 1 preference pairs ≥ 1/) });
  });

  it('a Phoenix answering 5xx is retried, then reported with the page; one that pages forever is stopped; nothing half-written', async () => {
    const spans = Array.from({ length: 3 }, (_, i) => llmSpan(`q${i}`, `a${i}`));
    const flaky = await setup(spans, [], { fail: (path, nth) => (path.endsWith('/spans') && nth === 1 ? 503 : undefined) });
    expect((await flaky.t.callOk(extractDatasetTool, { source: 'phoenix', query: { project: 'support-bot' }, kind: 'sft' })).examples).toBe(3);

    const down = await setup(spans, [], { fail: (path) => (path.endsWith('/spans') ? 502 : undefined) });
    const failed = await down.t.call('extract_dataset', { source: 'phoenix', query: { project: 'support-bot' }, kind: 'sft' });
    expect(errorCode(failed)).toBe('UPSTREAM_ERROR');
    expect(resultText(failed)).toContain('(page 1) → HTTP 502');
    expect(down.phoenix.requests.filter((r) => r.includes('/spans?'))).toHaveLength(3);

    const endless = await setup(spans, [], { endless: true }, { max_pages: 5 });
    const stopped = await endless.t.call('extract_dataset', { source: 'phoenix', query: { project: 'support-bot' }, kind: 'sft' });
    expect(errorCode(stopped)).toBe('UPSTREAM_ERROR');
    expect(resultText(stopped)).toContain('stopped after 5 pages');
    expect(resultText(stopped)).toContain('plugins.phoenix.max_pages');
    for (const { t } of [down, endless]) {
      expect(t.services.datasets.list({ limit: 10, offset: 0 }).total).toBe(0);
      const extracted = join(t.home, 'exports', 'extracted');
      expect(existsSync(extracted) ? readdirSync(extracted) : []).toEqual([]);
    }
  });
});
