/**
 * The OpenAI-compatible endpoint (/v1 of serve --http) driven by the official `openai` SDK, on a
 * stories260K version with a LoRA adapter: its answers equal the generate tool's, greedily.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveHttp, type HttpServerHandle } from '../../src/server/http.js';
import { generateTool } from '../../tools/generate.js';
import { importModelTool } from '../../tools/import-model.js';
import { promoteModelTool } from '../../tools/promote-model.js';
import { registerModelTool } from '../../tools/register-model.js';
import { rawRequest } from '../helpers/http.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { writeAdapter } from '../registry/records.js';

const ASSETS = new URL('../../assets/models/stories260K/', import.meta.url).pathname;
const TOKEN = 'serving-test-token-0123456789';
// A template that starts with the BOS token, as Llama templates do (generate adds none of its own).
const CHAT_TEMPLATE = "{{ bos_token }}{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";

describe('OpenAI-compatible endpoint', () => {
  let t: TestClient;
  let server: HttpServerHandle;
  let openai: OpenAI;
  let modelId: string;
  let adapterDir: string;

  beforeAll(async () => {
    t = await connectTestClient({ config: { allowed_roots: [ASSETS], serving: { max_concurrent: 1, max_queued: 1 } } });
    ({ model_id: modelId } = await t.callOk(importModelTool, { source: join(ASSETS, 'stories260K.bin'), tokenizer: join(ASSETS, 'tok512.bin') }));
    const configFile = join(t.services.models.get(modelId).dir, 'tokenizer_config.json');
    writeFileSync(configFile, JSON.stringify({ ...JSON.parse(readFileSync(configFile, 'utf8')), chat_template: CHAT_TEMPLATE }));
    const adapter = writeAdapter(join(t.home, 'in', 'adapter'), { kv_dim: 32, seed: 7 });
    const { model_version: v } = await t.callOk(registerModelTool, { name: 'stories-bot', version: '1.0.0', adapter_path: adapter });
    adapterDir = v.artifact_dir;
    server = await serveHttp(t.services, { host: '127.0.0.1', port: 0, token: TOKEN });
    openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: TOKEN, maxRetries: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await t?.close();
  });

  const generated = (args: Record<string, unknown>) => t.callOk(generateTool, { model_id: modelId, adapter_path: adapterDir, max_tokens: 24, ...args });

  it('lists the registered version', async () => {
    const models = await openai.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['stories-bot@1.0.0']);
    expect(models.data[0]).toMatchObject({ object: 'model', owned_by: 'finetune-mcp' });
  });

  it('answers a chat greedily with the text generate gives, whole and streamed', async () => {
    const messages = [{ role: 'user' as const, content: 'Tell me about a cat.' }];
    const expected = await generated({ messages });
    const whole = await openai.chat.completions.create({ model: 'stories-bot@1.0.0', messages, max_tokens: 24, temperature: 0 });
    expect(whole.choices[0]!.message.content).toBe(expected.text);
    expect(whole.object).toBe('chat.completion');
    expect(whole.usage).toEqual({ prompt_tokens: expected.prompt_tokens, completion_tokens: expected.tokens, total_tokens: expected.prompt_tokens + expected.tokens });

    const stream = await openai.chat.completions.create({ model: 'stories-bot@1.0.0', messages, max_tokens: 24, stream: true, stream_options: { include_usage: true } });
    const pieces: string[] = [];
    let finish: string | null = null;
    let usage: unknown;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices) {
        if (choice.delta.content) pieces.push(choice.delta.content);
        finish ??= choice.finish_reason;
      }
    }
    expect(pieces.length).toBeGreaterThan(3);
    expect(pieces.join('')).toBe(expected.text);
    expect(finish).toBe(expected.finish_reason);
    expect(usage).toEqual(whole.usage);
  });

  it('continues a prompt (/v1/completions) as generate does, and stops at a stop string', async () => {
    const expected = await generated({ prompt: 'Once upon a time' });
    const out = await openai.completions.create({ model: 'stories-bot@1.0.0', prompt: 'Once upon a time', max_tokens: 24, temperature: 0 });
    expect(out.choices[0]!.text).toBe(expected.text);
    const stopped = await generated({ prompt: 'Once upon a time', stop: ['.'], max_tokens: 60 });
    const streamed: string[] = [];
    for await (const chunk of await openai.completions.create({ model: 'stories-bot@1.0.0', prompt: 'Once upon a time', max_tokens: 60, stop: '.', stream: true })) {
      streamed.push(chunk.choices[0]?.text ?? '');
    }
    expect(streamed.join('')).toBe(stopped.text);
    expect(streamed.join('')).not.toContain('.');
  });

  it('answers bad requests with OpenAI-shaped errors and stays up', async () => {
    const fail = async (call: () => Promise<unknown>) => {
      const error = await call().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      return error as InstanceType<typeof OpenAI.APIError>;
    };
    const noMessages = await fail(() => openai.chat.completions.create({ model: 'stories-bot@1.0.0', messages: [] }));
    expect(noMessages).toBeInstanceOf(OpenAI.BadRequestError);
    expect(noMessages.error).toMatchObject({ type: 'invalid_request_error', param: 'messages' });
    const unknown = await fail(() => openai.chat.completions.create({ model: 'stories-bot@9.9.9', messages: [{ role: 'user', content: 'hi' }] }));
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect(unknown.code).toBe('model_not_found');
    const hot = await fail(() => openai.chat.completions.create({ model: 'stories-bot@1.0.0', messages: [{ role: 'user', content: 'hi' }], temperature: 3 }));
    expect(hot).toBeInstanceOf(OpenAI.BadRequestError);
    expect(hot.param).toBe('temperature');
    const long = await fail(() => openai.completions.create({ model: 'stories-bot@1.0.0', prompt: 'word '.repeat(3000), max_tokens: 5 }));
    expect(long).toBeInstanceOf(OpenAI.BadRequestError);
    expect(long.error).toMatchObject({ code: 'context_length_exceeded', param: 'prompt' });
    const anonymous = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'wrong-token', maxRetries: 0 });
    const refused = await fail(() => anonymous.models.list());
    expect(refused).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(refused.code).toBe('invalid_api_key');
    const raw = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: '{not json' });
    expect(raw.status).toBe(400);
    expect(((await raw.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    // The MCP endpoint's DNS-rebinding and cross-site checks guard /v1 too.
    const rebound = await rawRequest(`${server.url}/v1/models`, { headers: { host: 'evil.example', authorization: `Bearer ${TOKEN}` } });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.text)).toMatchObject({ error: { type: 'invalid_request_error', code: 'forbidden' } });
    const crossSite = await rawRequest(`${server.url}/v1/models`, { headers: { origin: 'https://evil.example', authorization: `Bearer ${TOKEN}` } });
    expect(crossSite.status).toBe(403);
    expect((await openai.models.list()).data).toHaveLength(1);
  });

  it('queues requests and answers 429 when the queue is full', async () => {
    const ask = () => openai.completions.create({ model: 'stories-bot@1.0.0', prompt: 'Lily', max_tokens: 60 }).then(() => 'ok', (e: unknown) => (e instanceof OpenAI.RateLimitError ? '429' : String(e)));
    const outcomes = await Promise.all([ask(), ask(), ask(), ask()]);
    // One runs, one waits (serving.max_queued 1): the others are refused at once.
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(2);
    expect(outcomes.filter((o) => o === '429')).toHaveLength(2);
  });

  it('reports latency, tokens and errors by model in /metrics', async () => {
    const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(text).toMatch(/finetune_mcp_serving_request_duration_seconds_count\{model="stories-bot@1.0.0",route="\/v1\/chat\/completions"\} [1-9]/);
    expect(text).toMatch(/finetune_mcp_serving_tokens_total\{model="stories-bot@1.0.0",kind="completion"\} [1-9]/);
    expect(text).toMatch(/finetune_mcp_serving_errors_total\{model="stories-bot@1.0.0",code="rate_limit_exceeded"\} 2/);
    expect(text).toMatch(/finetune_mcp_serving_errors_total\{model="unknown",code="model_not_found"\} 1/);
  });

  it('serves one version without /mcp as serve-model does, and refuses to start on an unknown one', async () => {
    await t.callOk(registerModelTool, { name: 'stories-bot', version: '1.1.0', adapter_path: adapterDir });
    const single = await serveHttp(t.services, { host: '127.0.0.1', port: 0, onlyVersion: 'stories-bot@1.1.0' });
    try {
      const client = new OpenAI({ baseURL: `${single.url}/v1`, apiKey: 'unused-without-a-token', maxRetries: 0 });
      expect((await client.models.list()).data.map((m) => m.id)).toEqual(['stories-bot@1.1.0']);
      const other = await client.completions.create({ model: 'stories-bot@1.0.0', prompt: 'x', max_tokens: 2 }).catch((e: unknown) => e);
      expect(other).toBeInstanceOf(OpenAI.NotFoundError);
      expect((await fetch(`${single.url}/mcp`, { method: 'POST', body: '{}' })).status).toBe(404);
    } finally {
      await single.close();
    }
    await expect(serveHttp(t.services, { host: '127.0.0.1', port: 0, onlyVersion: 'stories-bot@7.0.0' })).rejects.toThrow(/No registered model version 'stories-bot@7.0.0'/);
  });

  it('serves an alias under serve --http, following it when it moves', async () => {
    await t.callOk(promoteModelTool, { name: 'stories-bot', version: '1.0.0', alias: 'production', force: true, reason: 'first release' });
    expect((await openai.models.list()).data.map((m) => m.id)).toContain('stories-bot@production');
    const viaAlias = await openai.completions.create({ model: 'stories-bot@production', prompt: 'Once upon a time', max_tokens: 12 });
    const viaVersion = await openai.completions.create({ model: 'stories-bot@1.0.0', prompt: 'Once upon a time', max_tokens: 12 });
    expect(viaAlias.model).toBe('stories-bot@production');
    expect(viaAlias.choices[0]!.text).toBe(viaVersion.choices[0]!.text);
  });
});
