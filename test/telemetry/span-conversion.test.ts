import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { TelemetryAnnotation } from '../../src/plugins/providers.js';
import { flattenAttributes, valueAt } from '../../src/datasets/telemetry/attributes.js';
import { documentVerdicts, spanVerdict } from '../../src/datasets/telemetry/feedback.js';
import { FeedbackSchema } from '../../src/datasets/telemetry/options.js';
import { spanToChat } from '../../src/datasets/telemetry/span-to-chat.js';

// Arize-ai/openinference fixtures (test/fixtures/openinference/SOURCE.md): upstream asserts that the GenAI
// spans convert to these OpenInference spans, so the chats read from either must be the same.
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/openinference/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;

describe('OTel GenAI spans → chat', () => {
  it('gen_ai.input.messages / gen_ai.output.messages give the conversation OpenInference attributes give', () => {
    expect(spanToChat(fixture('otel_genai_client_span_tool_calls.json'))).toEqual(spanToChat(fixture('openinference_client_span_tool_calls.json')));
  });

  it('the deprecated gen_ai.prompt / gen_ai.completion JSON forms too', () => {
    expect(spanToChat(fixture('otel_genai_deprecated_client_span_tool_calls.json'))).toEqual(spanToChat(fixture('openinference_client_span_input_output_only.json')));
  });

  it('the indexed legacy form gen_ai.prompt.N.* / gen_ai.completion.N.* (tool calls included), and system instructions', () => {
    const legacy = {
      'gen_ai.prompt.0.role': 'system',
      'gen_ai.prompt.0.content': 'Be brief.',
      'gen_ai.prompt.1.role': 'user',
      'gen_ai.prompt.1.content': 'Weather in Rome?',
      'gen_ai.completion.0.role': 'assistant',
      'gen_ai.completion.0.content': '',
      'gen_ai.completion.0.tool_calls.0.id': 'c1',
      'gen_ai.completion.0.tool_calls.0.name': 'get_weather',
      'gen_ai.completion.0.tool_calls.0.arguments': '{"city":"Rome"}',
    };
    expect(spanToChat(legacy)).toEqual({
      ok: true,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Weather in Rome?' },
        { role: 'assistant', content: '', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } }] },
      ],
    });
    const withSystem = { ...fixture('otel_genai_client_span_tool_calls.json'), 'gen_ai.system_instructions': '[{"type":"text","content":"You are a weather bot."}]' };
    const chat = spanToChat(withSystem);
    expect(chat.ok && chat.messages.slice(0, 2)).toEqual([{ role: 'system', content: 'You are a weather bot.' }, { role: 'user', content: 'Weather in Paris?' }]);
  });

  it('says which attribute is malformed', () => {
    expect(spanToChat({ 'gen_ai.input.messages': '[{"role":', 'gen_ai.output.messages': '[]' })).toEqual({ ok: false, reason: 'gen_ai.input.messages is not valid JSON' });
    expect(spanToChat({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4' })).toMatchObject({ ok: false, reason: expect.stringContaining('no input messages') });
  });

  it('structured attributes flattened by an exporter are read back', () => {
    const flat = flattenAttributes({ 'gen_ai.input.messages': [{ role: 'user', parts: [{ type: 'text', content: 'hi' }] }], 'gen_ai.output.messages': [{ role: 'assistant', parts: [{ type: 'text', content: 'hello' }] }] });
    expect(flat['gen_ai.input.messages.0.parts.0.content']).toBe('hi');
    expect(valueAt(flat, 'gen_ai.input.messages')).toEqual([{ role: 'user', parts: [{ type: 'text', content: 'hi' }] }]);
    expect(spanToChat(flat)).toEqual({ ok: true, messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] });
  });
});

describe('feedback rules', () => {
  const fb = (over: Record<string, unknown> = {}) => FeedbackSchema.parse(over);
  let n = 0;
  const a = (label: string | null, score: number | null, kind = 'HUMAN', extra: Partial<TelemetryAnnotation> = {}): TelemetryAnnotation => ({ id: `a${++n}`, span_id: 's', name: 'correctness', annotator_kind: kind, label, score, explanation: null, metadata: {}, ...extra });

  it('labels approve or reject by the default lists; scores count only against min_score', () => {
    expect(spanVerdict([a('Correct', null)], fb()).verdict).toBe('approved');
    expect(spanVerdict([a('thumbs-down', null)], fb()).verdict).toBe('rejected');
    expect(spanVerdict([a(null, 0.2)], fb()).verdict).toBe('unjudged');
    expect(spanVerdict([a(null, 0.2)], fb({ min_score: 0.5 })).verdict).toBe('rejected');
    // A label that passes and a score that does not: both must pass.
    expect(spanVerdict([a('correct', 0.2)], fb({ min_score: 0.5 })).verdict).toBe('rejected');
    // With annotation_name and labels, any other label rejects.
    expect(spanVerdict([a('partially', null)], fb({ annotation_name: 'correctness', labels: ['correct'] })).verdict).toBe('rejected');
  });

  it('HUMAN wins over CODE over LLM; disagreement within the winning kind is a conflict; a correction rejects and carries the text', () => {
    expect(spanVerdict([a('incorrect', null, 'LLM'), a('correct', null, 'HUMAN')], fb()).verdict).toBe('approved');
    expect(spanVerdict([a('incorrect', null, 'LLM'), a('correct', null, 'CODE')], fb()).verdict).toBe('approved');
    expect(spanVerdict([a('incorrect', null, 'HUMAN'), a('correct', null, 'HUMAN')], fb()).verdict).toBe('conflicting');
    expect(spanVerdict([a('correct', null, 'LLM')], fb({ annotator_kinds: ['HUMAN'] })).verdict).toBe('unjudged');
    const fix = a(null, null, 'HUMAN', { name: 'correction', metadata: { correction: 'Rome: 18°C.' } });
    expect(spanVerdict([a('correct', null, 'LLM'), fix], fb())).toMatchObject({ verdict: 'rejected', correction: { text: 'Rome: 18°C.', annotation_id: fix.id } });
  });

  it('document relevance: labels, else scores at 0.5 by default', () => {
    const verdicts = documentVerdicts([a('relevant', null, 'HUMAN', { document_position: 0 }), a(null, 0.1, 'LLM', { document_position: 2 }), a('correct', null)], fb());
    expect([...verdicts.entries()]).toEqual([
      [0, { verdict: 'approved', annotation_ids: [expect.any(String)] }],
      [2, { verdict: 'rejected', annotation_ids: [expect.any(String)] }],
    ]);
  });
});
