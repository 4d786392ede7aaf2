import { FinetuneError } from '../../src/errors.js';
import { createChatGenerate, type ChatGenerate } from '../openai/inference.js';
import { openAISdk } from '../openai/sdk.js';
import { TOGETHER_MISSING_KEY, TogetherConfigSchema, togetherCredentials, type TogetherConfig } from './config.js';

/**
 * Generation with a Together model (a `together:<model_output_name>` artifact or any model name)
 * over Together's OpenAI-compatible chat completions endpoint, for the evaluation stage.
 */
export function togetherChatGenerate(config: Partial<TogetherConfig>, env: Readonly<Record<string, string | undefined>>): ChatGenerate {
  const parsed = TogetherConfigSchema.parse(config);
  const credentials = togetherCredentials(parsed, env);
  if (!credentials) throw new FinetuneError('AUTH_INVALID', TOGETHER_MISSING_KEY.reason, { recovery: TOGETHER_MISSING_KEY.fix });
  const { OpenAI } = openAISdk();
  const client = new OpenAI({ apiKey: credentials.apiKey, baseURL: credentials.baseURL, maxRetries: parsed.max_retries, timeout: parsed.timeout_ms });
  return createChatGenerate(client, 'Together');
}
