import { z } from 'zod';
import { definePlugin, PLUGIN_API_VERSION } from '../../src/plugins/types.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const OpenAICompatibleConfigSchema = z.object({
  base_url: z.string().url().optional().describe('API root of the server, e.g. "http://127.0.0.1:8000/v1" (vLLM), "http://127.0.0.1:11434/v1" (Ollama), "http://127.0.0.1:8080/v1" (llama.cpp server). Required.'),
  api_key: z.string().min(1).optional().describe('Bearer key, when the server wants one; default the variable named by api_key_env.'),
  api_key_env: z.string().regex(ENV_NAME, 'an environment variable name').default('OPENAI_COMPATIBLE_API_KEY').describe('Environment variable the key is read from when api_key is not set.'),
  models: z.array(z.string().min(1)).optional().describe('Model names the server serves; when set, other names are refused before any request.'),
  max_tokens_field: z.enum(['max_tokens', 'max_completion_tokens']).default('max_tokens').describe('Request field that caps the answer; servers other than OpenAI read max_tokens.'),
  max_retries: z.number().int().min(0).max(10).default(2),
  timeout_ms: z.number().int().positive().default(120_000),
});

type OpenAICompatibleConfig = z.infer<typeof OpenAICompatibleConfigSchema>;

const MISSING_BASE_URL = {
  reason: 'No endpoint: plugins.openai-compatible.base_url is not set.',
  fix: 'Set plugins.openai-compatible.base_url in the config to the server\u2019s API root (e.g. "http://127.0.0.1:8000/v1" for vLLM) and restart.',
};

/**
 * Inference on any server that speaks OpenAI's chat completions (vLLM, Ollama, llama.cpp server,
 * LM Studio …): `openai-compatible:<model>` in evaluate_model and compare_models. Disabled without a base_url.
 */
export const openaiCompatiblePlugin = definePlugin<OpenAICompatibleConfig>({
  meta: {
    name: 'openai-compatible',
    version: '0.1.0',
    api_version: PLUGIN_API_VERSION,
    description: 'Generation on any OpenAI-compatible chat completions server (vLLM, Ollama, llama.cpp server) for evaluation and judging.',
  },
  provides: ['inference'],
  capabilities: { inference: { chat: true, logprobs: false } },
  configSchema: OpenAICompatibleConfigSchema,
  probe(ctx) {
    if (!ctx.config.base_url) return { available: false, ...MISSING_BASE_URL };
    return { available: true, details: { base_url: ctx.config.base_url, ...(ctx.config.models ? { models: ctx.config.models } : {}) } };
  },
  async create(ctx) {
    const { chatCompletionsProvider } = await import('../../src/plugin-sdk/chat-completions.js');
    const { RestClient } = await import('../../src/plugin-sdk/http.js');
    const { base_url: baseURL, max_retries: maxRetries, timeout_ms: timeoutMs } = ctx.config;
    const apiKey = ctx.config.api_key ?? (ctx.env[ctx.config.api_key_env] || undefined);
    const provider = `OpenAI-compatible server at ${baseURL}`;
    const client = new RestClient({ baseURL: baseURL!, headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {}, maxRetries, timeoutMs, provider });
    return { inference: chatCompletionsProvider({ client, provider, maxTokensField: ctx.config.max_tokens_field, models: ctx.config.models }) };
  },
});
