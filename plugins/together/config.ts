import { z } from 'zod';

export const TogetherConfigSchema = z.object({
  api_key: z.string().min(1).optional().describe('API key; default TOGETHER_API_KEY.'),
  base_url: z.string().url().optional().describe('API base URL; default TOGETHER_BASE_URL or https://api.together.xyz/v1.'),
  max_retries: z.number().int().min(0).max(10).default(4),
  timeout_ms: z.number().int().positive().default(120_000),
  poll_interval_ms: z.number().int().positive().default(15_000),
  max_poll_interval_ms: z.number().int().positive().default(120_000),
  /** Weights & Biases key Together's trainer logs loss curves to (Together's API exposes no loss series itself). */
  wandb_api_key: z.string().optional(),
  wandb_project_name: z.string().optional(),
});

export type TogetherConfig = z.infer<typeof TogetherConfigSchema>;

const DEFAULT_TOGETHER_URL = 'https://api.together.xyz/v1';

export function togetherCredentials(config: TogetherConfig, env: Readonly<Record<string, string | undefined>>): { apiKey: string; baseURL: string } | undefined {
  const apiKey = config.api_key ?? env.TOGETHER_API_KEY;
  if (!apiKey) return undefined;
  return { apiKey, baseURL: config.base_url ?? (env.TOGETHER_BASE_URL || DEFAULT_TOGETHER_URL) };
}

export const TOGETHER_MISSING_KEY = {
  reason: 'No Together API key: neither plugins.together.api_key nor TOGETHER_API_KEY is set.',
  fix: 'Set TOGETHER_API_KEY in the server environment (or plugins.together.api_key in the config file) and restart.',
};
