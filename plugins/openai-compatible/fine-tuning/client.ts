import type OpenAI from 'openai';
import { openAISdk } from './sdk.js';

/** The official SDK pointed at any provider of the fine-tuning API; it retries 408/409/429/5xx itself, honouring Retry-After. */
export function fineTuningClient(options: { apiKey: string; baseURL?: string; organization?: string; project?: string; maxRetries: number; timeoutMs: number }): OpenAI {
  const { OpenAI: Client } = openAISdk();
  const { timeoutMs, ...rest } = options;
  return new Client({ ...rest, timeout: timeoutMs });
}
