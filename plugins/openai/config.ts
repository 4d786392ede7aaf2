import type OpenAI from 'openai';
import { z } from 'zod';
import { FinetuneError } from '../../src/errors.js';
import { fineTuningClient } from '../openai-compatible/fine-tuning/client.js';

export const OpenAIConfigSchema = z.object({
  api_key: z.string().min(1).optional().describe('API key; default OPENAI_API_KEY.'),
  base_url: z.string().url().optional().describe('API base URL; default OPENAI_BASE_URL or https://api.openai.com/v1.'),
  organization: z.string().optional().describe('Organization id; default OPENAI_ORG_ID.'),
  project: z.string().optional().describe('Project id; default OPENAI_PROJECT_ID.'),
  /** Retries of 408/409/429/5xx inside the SDK (exponential backoff honouring retry-after). */
  max_retries: z.number().int().min(0).max(10).default(4),
  timeout_ms: z.number().int().positive().default(120_000),
  /** First poll interval; it grows ×1.5 while nothing changes, up to max_poll_interval_ms. */
  poll_interval_ms: z.number().int().positive().default(10_000),
  max_poll_interval_ms: z.number().int().positive().default(120_000),
  /** Weights & Biases project to mirror runs to (OpenAI's integration; the W&B key lives in the OpenAI org). */
  wandb_project: z.string().optional(),
  wandb_entity: z.string().optional(),
  /** Extra or corrected per-model limits and prices, keyed by model snapshot name. */
  models: z
    .record(
      z.string(),
      z.object({
        token_limit: z.number().int().positive(),
        usd_per_million_training_tokens: z.number().min(0),
        encoding: z.enum(['o200k_base', 'cl100k_base']).default('o200k_base'),
        methods: z.array(z.enum(['sft', 'dpo'])).default(['sft', 'dpo']),
      }),
    )
    .default({}),
});

export type OpenAIConfig = z.infer<typeof OpenAIConfigSchema>;

interface OpenAICredentials {
  apiKey: string;
  baseURL?: string;
  organization?: string;
  project?: string;
}

/** Credentials from the plugin config, then the environment; undefined when no key is set. */
export function resolveCredentials(config: OpenAIConfig, env: Readonly<Record<string, string | undefined>>): OpenAICredentials | undefined {
  const apiKey = config.api_key ?? env.OPENAI_API_KEY;
  if (!apiKey) return undefined;
  return {
    apiKey,
    baseURL: config.base_url ?? (env.OPENAI_BASE_URL || undefined),
    organization: config.organization ?? (env.OPENAI_ORG_ID || undefined),
    project: config.project ?? (env.OPENAI_PROJECT_ID || undefined),
  };
}

export const MISSING_KEY = {
  reason: 'No OpenAI API key: neither plugins.openai.api_key nor OPENAI_API_KEY is set.',
  fix: 'Set OPENAI_API_KEY in the server environment (or plugins.openai.api_key in the config file) and restart.',
};

export function createOpenAIClient(config: OpenAIConfig, env: Readonly<Record<string, string | undefined>>): OpenAI {
  const credentials = resolveCredentials(config, env);
  if (!credentials) throw new FinetuneError('AUTH_INVALID', MISSING_KEY.reason, { recovery: MISSING_KEY.fix });
  return fineTuningClient({ ...credentials, maxRetries: config.max_retries, timeoutMs: config.timeout_ms });
}
