import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareModelsTool } from '../../tools/compare-models.js';
import { evaluateModelTool } from '../../tools/evaluate-model.js';
import { connectTestClient, errorCode, type TestClient } from '../helpers/mcp.js';

/** A local OpenAI-compatible server: the fine-tune answers with the capital, the base does not. */
const ANSWERS: Record<string, Record<string, string>> = {
  'ft:gpt-4o-mini:acme::cap': { 'Capital of France?': 'Paris', 'Capital of Italy?': 'The capital is Rome.' },
  'gpt-4o-mini': { 'Capital of France?': 'I am not sure.', 'Capital of Italy?': 'Milan' },
};

describe('remote models (openai plugin inference) in evaluate_model and compare_models', () => {
  let server: Server;
  let t: TestClient;
  const requests: Array<Record<string, unknown>> = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const request = JSON.parse(body) as { model: string; messages: Array<{ content: string }> };
        requests.push(request);
        const text = ANSWERS[request.model]?.[request.messages.at(-1)!.content] ?? '?';
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 0, model: request.model, choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: text } }], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    t = await connectTestClient({ config: { plugins: { openai: { api_key: 'sk-test', base_url: baseURL, max_retries: 0 } } } });
  });
  afterAll(async () => {
    await t?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('scores a remote fine-tune with SQuAD EM/F1 on its chat answers, and refuses perplexity', async () => {
    const path = join(t.home, 'qa.jsonl');
    writeFileSync(path, ['France', 'Italy'].map((c) => JSON.stringify({ messages: [{ role: 'user', content: `Capital of ${c}?` }, { role: 'assistant', content: c === 'France' ? 'Paris' : 'Rome' }] })).join('\n'));
    const out = await t.callOk(evaluateModelTool, { model_id: 'openai:ft:gpt-4o-mini:acme::cap', path, metrics: ['exact_match', 'f1'] });
    // SQuAD script: "Paris" = "Paris" (EM 1, F1 1); "The capital is Rome." vs "Rome": EM 0, F1 = 2·(1/3·1)/(1/3+1) = 0.5 ("the" dropped).
    expect(out.metrics.exact_match).toBe(50);
    expect(out.metrics.f1).toBeCloseTo(75, 10);
    expect(out.provider).toBe('openai');
    expect(requests.at(-1)).toMatchObject({ model: 'ft:gpt-4o-mini:acme::cap', temperature: 0 });
    expect(errorCode(await t.call('evaluate_model', { model_id: 'openai:gpt-4o-mini', path, metrics: ['perplexity'] }))).toBe('CAPABILITY_UNSUPPORTED');
    expect(errorCode(await t.call('evaluate_model', { model_id: 'openai:gpt-4o-mini', adapter_path: t.home, path }))).toBe('INVALID_INPUT');
  });

  it('compares a remote fine-tune with its remote base on the same cases', async () => {
    const path = join(t.home, 'qa.jsonl');
    const out = await t.callOk(compareModelsTool, { models: [{ model_id: 'openai:gpt-4o-mini' }, { model_id: 'openai:ft:gpt-4o-mini:acme::cap' }], path, metrics: ['f1'], judge: 'none' });
    expect(out.baseline).toBe('openai:gpt-4o-mini');
    expect(out.deltas[0]).toMatchObject({ metric: 'f1', baseline: 0, value: 75, direction: 'better' });
  });
});
