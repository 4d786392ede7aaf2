import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareModelsTool } from '../../tools/compare-models.js';
import { evaluateModelTool } from '../../tools/evaluate-model.js';
import { connectTestClient, errorCode, type TestClient } from '../helpers/mcp.js';
import { writeAdapter } from '../registry/records.js';

const ASSETS = new URL('../../assets/models/stories260K/', import.meta.url).pathname;

describe('compare_models running local models', () => {
  let t: TestClient;
  let modelId: string;
  let work: string;
  beforeAll(async () => {
    t = await connectTestClient({ clientCapabilities: { capabilities: { sampling: {} } } });
    // A judge that prefers the longer answer: deterministic, and indifferent to the order shown.
    t.client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      const text = (request.params.messages[0].content as { text: string }).text;
      const a = /Assistant A's Answer\]\n([\s\S]*?)\n\[The End/.exec(text)![1];
      const b = /Assistant B's Answer\]\n([\s\S]*?)\n\[The End/.exec(text)![1];
      return { model: 'len-judge', role: 'assistant', content: { type: 'text', text: a.length === b.length ? '[[C]]' : a.length > b.length ? '[[A]]' : '[[B]]' } };
    });
    ({ model: { id: modelId } } = await t.services.models.import(join(ASSETS, 'stories260K.bin'), { tokenizer: join(ASSETS, 'tok512.bin') }));
    work = mkdtempSync(join(t.home, 'cmp-'));
  });
  afterAll(async () => t?.close());

  it('adds the base of a fine-tune, runs both on the same cases, and judges them', async () => {
    const path = join(work, 'cases.jsonl');
    const rows = [
      { prompt: 'Once upon a time,', completion: ' there was a little girl named Lily.' },
      { prompt: 'The cat sat', completion: ' on the mat and purred.' },
      { prompt: 'Tom had a red ball.', completion: ' He liked to play with it.' },
    ];
    writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n'));
    const adapter = writeAdapter(join(work, 'adapter'), { r: 4, seed: 11, kv_dim: 32 });
    const out = await t.callOk(compareModelsTool, { models: [{ model_id: modelId, adapter_path: adapter, label: 'tuned' }], path, max_new_tokens: 12, metrics: ['chrf'] });
    expect(out.notes).toContain(`added base model ${modelId} as the baseline of tuned`);
    expect(out.baseline).toMatch(/^base stories260K/);
    expect(out.models.map((m) => m.model)).toEqual([out.baseline, 'tuned']);
    expect(out.cases).toBe(3);
    // chrF on the generations, and the perplexity of the reference answers (both local models expose log-probabilities).
    expect(out.deltas.map((d) => d.metric)).toEqual(['answer_perplexity', 'chrf']);
    const ppl = out.deltas[0];
    expect(ppl.delta).toBeCloseTo(ppl.value - ppl.baseline, 10);
    expect(ppl.ci[0]).toBeLessThanOrEqual(ppl.delta);
    expect(ppl.ci[1]).toBeGreaterThanOrEqual(ppl.delta);
    expect(out.models[0].metrics.answer_perplexity).toBe(ppl.baseline);
    const alone = await t.callOk(evaluateModelTool, { model_id: modelId, path, metrics: ['answer_perplexity'] });
    expect(alone.metrics.answer_perplexity).toBeCloseTo(ppl.baseline, 10);
    expect(out.judge?.used).toBe('client sampling');
    const r = out.judge!.results[0];
    expect(r.wins + r.losses + r.ties).toBe(3);
    expect(r.consistency).toBe(1); // a length judge does not care about order
    // llama2.c's greedy text after "Once upon a time," (test_all.py expected_stdout) is the base's answer.
    const stored = t.services.workspace.db.prepare('SELECT dir FROM comparisons WHERE id = ?').get(out.comparison_id) as { dir: string };
    const first = JSON.parse((await import('node:fs')).readFileSync(join(stored.dir, 'cases.jsonl'), 'utf8').split('\n')[0]) as { outputs: Record<string, string> };
    expect(first.outputs[out.baseline].trim()).toMatch(/^there was a little girl named Lily/);
  });

  it('refuses text rows, a single base model and duplicate labels', async () => {
    const text = join(work, 'text.jsonl');
    writeFileSync(text, JSON.stringify({ text: 'Once upon a time.' }) + '\n');
    expect(errorCode(await t.call('compare_models', { models: [{ model_id: modelId }, { model_id: modelId, label: 'again' }], path: text }))).toBe('INVALID_INPUT');
    const path = join(work, 'cases.jsonl');
    expect(errorCode(await t.call('compare_models', { models: [{ model_id: modelId }], path }))).toBe('INVALID_INPUT');
    expect(errorCode(await t.call('compare_models', { models: [{ model_id: modelId, label: 'x' }, { model_id: modelId, label: 'x' }], path }))).toBe('INVALID_INPUT');
  });
});
