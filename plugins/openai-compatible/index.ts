import { z } from 'zod';
import { definePlugin, PLUGIN_API_VERSION, type Unavailable } from '../../src/plugins/types.js';
import { FineTuningSectionSchema } from './fine-tuning/config.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const OpenAICompatibleConfigSchema = z.object({
  base_url: z.string().url().optional().describe('API root of the server, e.g. "http://127.0.0.1:8000/v1" (vLLM), "http://127.0.0.1:11434/v1" (Ollama), "https://api.tokenfactory.nebius.com/v1" (Nebius Token Factory). Required.'),
  api_key: z.string().min(1).optional().describe('Bearer key, when the server wants one; default the variable named by api_key_env.'),
  api_key_env: z.string().regex(ENV_NAME, 'an environment variable name').default('OPENAI_COMPATIBLE_API_KEY').describe('Environment variable the key is read from when api_key is not set.'),
  models: z.array(z.string().min(1)).optional().describe('Model names the server serves; when set, other names are refused before any request.'),
  max_tokens_field: z.enum(['max_tokens', 'max_completion_tokens']).default('max_tokens').describe('Request field that caps the answer; servers other than OpenAI read max_tokens.'),
  max_retries: z.number().int().min(0).max(10).default(2),
  timeout_ms: z.number().int().positive().default(120_000),
  fine_tuning: FineTuningSectionSchema.optional().describe('Fine-tuning through the provider\u2019s /files and /fine_tuning/jobs (OpenAI\u2019s API shape); without it the plugin trains nothing.'),
});

type OpenAICompatibleConfig = z.infer<typeof OpenAICompatibleConfigSchema>;
type Env = Readonly<Record<string, string | undefined>>;

const MISSING_BASE_URL = {
  reason: 'No endpoint: plugins.openai-compatible.base_url is not set.',
  fix: 'Set plugins.openai-compatible.base_url in the config to the server\u2019s API root (e.g. "http://127.0.0.1:8000/v1" for vLLM) and restart.',
};

function apiKey(config: OpenAICompatibleConfig, env: Env): string | undefined {
  return config.api_key ?? (env[config.api_key_env] || undefined);
}

/** Why the training backend is off with this config, or undefined when it can run. */
function fineTuningUnavailable(config: OpenAICompatibleConfig, env: Env): Unavailable | undefined {
  if (!config.fine_tuning) {
    return {
      reason: 'Fine-tuning is disabled, because plugins.openai-compatible has no fine_tuning section (it only serves inference).',
      fix: 'Add plugins.openai-compatible.fine_tuning with the provider\u2019s fine-tunable models (and their prices), e.g. {models: ["meta-llama/Meta-Llama-3.1-8B-Instruct"]}; see docs/backends/openai-compatible.md.',
    };
  }
  if (!apiKey(config, env)) {
    return {
      reason: `Fine-tuning is disabled, because no API key is set: neither plugins.openai-compatible.api_key nor ${config.api_key_env} in the environment.`,
      fix: `Set ${config.api_key_env} in the server environment to the provider\u2019s API key (or name another variable with plugins.openai-compatible.api_key_env) and restart.`,
    };
  }
  return undefined;
}

/**
 * Any server that speaks OpenAI's API: inference over chat completions (vLLM, Ollama, llama.cpp
 * server, LM Studio …) as `openai-compatible:<model>`, and, with a `fine_tuning` section, hosted
 * fine-tuning over /files + /fine_tuning/jobs (Nebius Token Factory and others) with the same
 * backend the OpenAI plugin runs. Disabled without a base_url.
 */
export const openaiCompatiblePlugin = definePlugin<OpenAICompatibleConfig>({
  meta: {
    name: 'openai-compatible',
    version: '0.2.0',
    api_version: PLUGIN_API_VERSION,
    description:
      'Any OpenAI-compatible API: generation over chat completions (vLLM, Ollama, llama.cpp server) for evaluation and judging, and, with plugins.openai-compatible.fine_tuning, hosted fine-tuning over /files and /fine_tuning/jobs (e.g. Nebius Token Factory).',
  },
  provides: ['inference', 'training_backend'],
  capabilities: {
    inference: { chat: true, logprobs: false },
    training: {
      methods: ['sft', 'dpo'],
      approaches: ['full', 'lora'],
      tasks: { sft: ['chat', 'completion'], dpo: ['preference'] },
      resume: false,
      cancel: true,
      devices: ['provider-hosted'],
      remote: true,
      inference: true,
      // Providers cap active jobs per account and refuse extras themselves.
      max_concurrent_jobs: 4,
    },
  },
  configSchema: OpenAICompatibleConfigSchema,
  probe(ctx) {
    const { base_url, models, fine_tuning } = ctx.config;
    if (!base_url) return { available: false, ...MISSING_BASE_URL };
    const withheld = fineTuningUnavailable(ctx.config, ctx.env);
    return {
      available: true,
      details: { base_url, ...(models ? { models } : {}), ...(fine_tuning && !withheld ? { fine_tunable_models: fine_tuning.models.map((m) => (typeof m === 'string' ? m : m.name)) } : {}) },
      ...(withheld ? { withheld: { training_backend: withheld } } : {}),
    };
  },
  async create(ctx) {
    const { chatCompletionsProvider } = await import('../../src/plugin-sdk/chat-completions.js');
    const { RestClient } = await import('../../src/plugin-sdk/http.js');
    const { base_url: baseURL, max_retries: maxRetries, timeout_ms: timeoutMs } = ctx.config;
    const key = apiKey(ctx.config, ctx.env);
    const provider = `OpenAI-compatible server at ${baseURL}`;
    const client = new RestClient({ baseURL: baseURL!, headers: key ? { authorization: `Bearer ${key}` } : {}, maxRetries, timeoutMs, provider });
    const inference = chatCompletionsProvider({ client, provider, maxTokensField: ctx.config.max_tokens_field, models: ctx.config.models });
    if (!ctx.config.fine_tuning || !key) return { inference };
    const { FineTuningBackend } = await import('./fine-tuning/backend.js');
    const { fineTuningClient } = await import('./fine-tuning/client.js');
    const { compatibleProfile } = await import('./fine-tuning/config.js');
    const training = new FineTuningBackend(fineTuningClient({ apiKey: key, baseURL, maxRetries, timeoutMs }), compatibleProfile(ctx.config.fine_tuning, baseURL!), ctx.logger);
    return { inference, training_backend: training };
  },
});
