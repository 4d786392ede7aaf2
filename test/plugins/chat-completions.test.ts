import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatCompletionsProvider, RestClient } from '../../src/plugin-sdk/index.js';
import { connectTestClient } from '../helpers/mcp.js';
import { FakeChatServer } from '../remote/fake-chat-server.js';

const ping = [{ role: 'user' as const, content: 'ping' }];

describe('chatCompletionsProvider (the one chat completions implementation of openai, together and openai-compatible)', () => {
  const server = new FakeChatServer({ echo: (body) => `echo ${body.messages.at(-1)!.content}` }, 'sk-chat');
  let baseURL: string;
  const provider = (options: { key?: string; retries?: number; field?: 'max_tokens' | 'max_completion_tokens' } = {}) =>
    chatCompletionsProvider({
      client: new RestClient({ baseURL, headers: { authorization: `Bearer ${options.key ?? 'sk-chat'}` }, maxRetries: options.retries ?? 0, timeoutMs: 5000, provider: 'Fake' }),
      provider: 'Fake',
      maxTokensField: options.field ?? 'max_tokens',
    });
  beforeAll(async () => {
    baseURL = await server.start();
  });
  afterAll(() => server.stop());

  it('sends the model, messages and the configured max-tokens field, and returns text, usage and request id', async () => {
    const out = await provider({ field: 'max_completion_tokens' }).generate({ model: 'echo', messages: ping, max_tokens: 9, temperature: 0, seed: 3 });
    expect(out).toMatchObject({ text: 'echo ping', finish_reason: 'stop', usage: { prompt_tokens: 11, completion_tokens: 2 } });
    expect(out.request_id).toMatch(/^req_\d+$/);
    const body = server.chatBodies().at(-1)!;
    expect(body).toEqual({ model: 'echo', messages: ping, max_completion_tokens: 9, temperature: 0, seed: 3 });
  });

  it('retries a 503 (generation creates nothing) and maps refusals to codes with the request id', async () => {
    server.http.fail({ method: 'POST', path: /chat\/completions$/, times: 1, reply: { status: 503, body: { error: { message: 'overloaded' } } } });
    const before = server.chatBodies().length;
    expect((await provider({ retries: 1 }).generate({ model: 'echo', messages: ping })).text).toBe('echo ping');
    expect(server.http.requests.filter((r) => r.path === '/v1/chat/completions').length - before).toBe(2);
    await expect(provider({ key: 'wrong' }).generate({ model: 'echo', messages: ping })).rejects.toMatchObject({ code: 'AUTH_INVALID', message: expect.stringMatching(/Fake refused generating with echo: HTTP 401: Invalid API key \[request id req_\d+\]/) });
    // vLLM's 404 body for a model it does not serve.
    await expect(provider().generate({ model: 'llama-70b', messages: ping })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('The model `llama-70b` does not exist.') });
  });

  it('asks for and returns token log-probabilities when the server gives them', async () => {
    server.http.fail({
      method: 'POST',
      path: /chat\/completions$/,
      times: 1,
      reply: { status: 200, body: { choices: [{ index: 0, finish_reason: 'length', message: { role: 'assistant', content: 'hi there' }, logprobs: { content: [{ token: 'hi', logprob: -0.25 }, { token: ' there', logprob: -1.5 }] } }] } },
    });
    const out = await provider().generate({ model: 'echo', messages: ping, logprobs: true });
    expect(out).toMatchObject({ text: 'hi there', finish_reason: 'length', usage: null, token_logprobs: [-0.25, -1.5] });
    expect(JSON.parse(server.http.requests.at(-1)!.body.toString('utf8'))).toMatchObject({ logprobs: true });
  });

  it('PluginHost.createWith builds an openai-compatible provider from another config, through its schema and probe', async () => {
    const t = await connectTestClient({ env: { MY_VLLM_KEY: 'sk-chat' } });
    try {
      const { plugins } = t.services;
      await expect(plugins.createWith('inference', 'openai-compatible', {}, 'judge')).rejects.toMatchObject({ code: 'PLUGIN_UNAVAILABLE', recovery: expect.stringContaining('base_url') });
      await expect(plugins.createWith('inference', 'openai-compatible', { base_url: 'not a url' }, 'judge')).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('judge.base_url') });
      const inference = await plugins.createWith('inference', 'openai-compatible', { base_url: baseURL, api_key: 'sk-chat', max_retries: 0 }, 'judge');
      expect((await inference.generate({ model: 'echo', messages: ping, max_tokens: 4 })).text).toBe('echo ping');
      expect(server.chatBodies().at(-1)).toMatchObject({ max_tokens: 4 });
      // The key from the environment variable the config names (the fake refuses requests without it).
      const fromEnv = await plugins.createWith('inference', 'openai-compatible', { base_url: baseURL, api_key_env: 'MY_VLLM_KEY', max_retries: 0 }, 'judge');
      expect((await fromEnv.generate({ model: 'echo', messages: ping })).text).toBe('echo ping');
      expect(server.http.requests.at(-1)!.headers.authorization).toBe('Bearer sk-chat');
      // Its own section stays as configured: the plugin itself is still disabled.
      expect(plugins.status('openai-compatible')).toMatchObject({ status: 'disabled', code: 'PLUGIN_UNAVAILABLE' });
    } finally {
      await t.close();
    }
  });
});
