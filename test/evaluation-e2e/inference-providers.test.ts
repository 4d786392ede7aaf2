import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareModelsTool } from '../../tools/compare-models.js';
import { evaluateModelTool } from '../../tools/evaluate-model.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { FakeChatServer } from '../remote/fake-chat-server.js';
import { FakeTogether } from '../remote/fake-together.js';

/** Two capital questions; the served fine-tune knows both, the base only France. */
const CAPITALS: Record<string, string> = { 'Capital of France?': 'Paris', 'Capital of Italy?': 'Rome' };
const lastQuestion = (body: { messages: Array<{ content: string }> }) => body.messages.at(-1)!.content;

function writeQa(dir: string): string {
  const path = join(dir, 'qa.jsonl');
  const rows = Object.entries(CAPITALS).map(([q, a]) => ({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }] }));
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return path;
}

describe('evaluate_model and compare_models on inference providers named by the model prefix', () => {
  const together = new FakeTogether();
  const vllm = new FakeChatServer({
    'capitals-ft': (body) => CAPITALS[lastQuestion(body)] ?? '?',
    'capitals-base': (body) => (lastQuestion(body) === 'Capital of France?' ? 'Paris' : 'Milan'),
    // A judge that prefers the answer naming Rome (the right one on the Italy question).
    'judge-1': (body) => {
      const text = lastQuestion(body);
      const a = /\[The Start of Assistant A's Answer\]\n([\s\S]*?)\n\[The End/.exec(text)![1];
      const b = /\[The Start of Assistant B's Answer\]\n([\s\S]*?)\n\[The End/.exec(text)![1];
      return a === b ? 'Same. [[C]]' : a === 'Rome' ? 'A is right. [[A]]' : b === 'Rome' ? 'B is right. [[B]]' : 'Neither. [[C]]';
    },
  });
  let t: TestClient;
  let path: string;
  let vllmURL: string;
  beforeAll(async () => {
    const togetherURL = await together.start();
    vllmURL = await vllm.start();
    t = await connectTestClient({
      env: { TOGETHER_API_KEY: together.apiKey, TOGETHER_BASE_URL: togetherURL },
      config: {
        plugins: { together: { max_retries: 0 }, 'openai-compatible': { base_url: vllmURL, models: ['capitals-ft', 'capitals-base', 'judge-1'], max_retries: 0 } },
        judge: { model: 'openai-compatible:judge-1', max_tokens: 64 },
      } as never,
    });
    path = writeQa(t.home);
  });
  afterAll(async () => {
    await t?.close();
    await together.stop();
    await vllm.stop();
  });

  it('runs a together: model on Together’s chat completions with the plugin’s own key', async () => {
    const out = await t.callOk(evaluateModelTool, { model_id: 'together:acct/Llama-ft-1', path, metrics: ['exact_match', 'f1'] });
    // The fake echoes "<model>: <question>", so no answer matches: EM 0; F1 shares no token with "Paris"/"Rome".
    expect(out.metrics).toEqual({ exact_match: 0, f1: 0 });
    expect(out.provider).toBe('together');
    const chat = together.http.requests.filter((r) => r.path === '/v1/chat/completions');
    expect(chat).toHaveLength(2);
    expect(chat[0].headers.authorization).toBe(`Bearer ${together.apiKey}`);
    expect(JSON.parse(chat[0].body.toString('utf8'))).toMatchObject({ model: 'acct/Llama-ft-1', temperature: 0, seed: 0, max_tokens: 64, messages: [{ role: 'user', content: 'Capital of France?' }] });
    expect(out.samples[0].prediction).toBe('acct/Llama-ft-1: Capital of France?');
  });

  it('runs an openai-compatible: model on the configured server (vLLM-style), without a key', async () => {
    const out = await t.callOk(evaluateModelTool, { model_id: 'openai-compatible:capitals-base', path, metrics: ['exact_match'] });
    expect(out.metrics.exact_match).toBe(50);
    expect(out.provider).toBe('openai-compatible');
    const sent = vllm.http.requests.filter((r) => r.path === '/v1/chat/completions').at(-1)!;
    expect(sent.headers.authorization).toBeUndefined();
    expect(JSON.parse(sent.body.toString('utf8'))).toMatchObject({ model: 'capitals-base', temperature: 0, max_tokens: 64 });
    // Perplexity needs token log-probabilities, which a chat server does not give here.
    expect(errorCode(await t.call('evaluate_model', { model_id: 'openai-compatible:capitals-base', path, metrics: ['perplexity'] }))).toBe('CAPABILITY_UNSUPPORTED');
    // A model outside the configured list is refused before a request is sent.
    const before = vllm.http.requests.length;
    const other = await t.call('evaluate_model', { model_id: 'openai-compatible:llama-70b', path, metrics: ['exact_match'] });
    expect(errorCode(other)).toBe('NOT_FOUND');
    expect(resultText(other)).toContain('capitals-ft, capitals-base, judge-1');
    expect(vllm.http.requests.length).toBe(before);
  });

  it('compares two served models, judged by a model reference (judge.model) through the same provider', async () => {
    const out = await t.callOk(compareModelsTool, { models: [{ model_id: 'openai-compatible:capitals-base' }, { model_id: 'openai-compatible:capitals-ft' }], path, metrics: ['exact_match'], judge: 'endpoint' });
    expect(out.baseline).toBe('openai-compatible:capitals-base');
    expect(out.deltas[0]).toMatchObject({ metric: 'exact_match', baseline: 50, value: 100 });
    expect(out.judge!.used).toBe('model openai-compatible:judge-1');
    // France: both say Paris (tie in both orders); Italy: Rome beats Milan in both orders.
    expect(out.judge!.results[0]).toMatchObject({ wins: 1, losses: 0, ties: 1, consistency: 1 });
    const judged = vllm.chatBodies().filter((b) => b.model === 'judge-1');
    expect(judged).toHaveLength(4);
    expect(judged[0]).toMatchObject({ temperature: 0, max_tokens: 64 });
  });

  it('refuses an unknown prefix with the list of inference providers, and a plugin that runs no models', async () => {
    const unknown = await t.call('evaluate_model', { model_id: 'acme:model-1', path, metrics: ['exact_match'] });
    expect(errorCode(unknown)).toBe('INVALID_INPUT');
    expect(resultText(unknown)).toContain("No plugin is named 'acme'");
    expect(resultText(unknown)).toContain('Inference providers: local, openai (disabled), together, openai-compatible.');
    const phoenix = await t.call('evaluate_model', { model_id: 'phoenix:model-1', path, metrics: ['exact_match'] });
    expect(errorCode(phoenix)).toBe('INVALID_INPUT');
    expect(resultText(phoenix)).toContain("Plugin 'phoenix' runs no models");
    // local: names a model on this machine, looked up like a bare model_id.
    const local = await t.call('evaluate_model', { model_id: 'local:stories-nowhere', path, metrics: ['exact_match'] });
    expect(errorCode(local)).toBe('NOT_FOUND');
    expect(resultText(local)).toContain("No imported model named 'stories-nowhere'");
  });
});

describe('a disabled inference provider', () => {
  it('answers PLUGIN_UNAVAILABLE with the plugin’s reason and fix, before reading rows', async () => {
    const t = await connectTestClient({ env: {} });
    try {
      const path = writeQa(t.home);
      const together = await t.call('evaluate_model', { model_id: 'together:acct/Llama-ft-1', path, metrics: ['exact_match'] });
      expect(errorCode(together)).toBe('PLUGIN_UNAVAILABLE');
      expect(resultText(together)).toContain("Plugin 'together' is disabled: No Together API key");
      expect(resultText(together)).toContain('Set TOGETHER_API_KEY');
      const compatible = await t.call('compare_models', { models: [{ model_id: 'openai-compatible:a' }, { model_id: 'openai-compatible:b' }], path, judge: 'none' });
      expect(errorCode(compatible)).toBe('PLUGIN_UNAVAILABLE');
      expect(resultText(compatible)).toContain('plugins.openai-compatible.base_url is not set');
    } finally {
      await t.close();
    }
  });
});
