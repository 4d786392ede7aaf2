import { FinetuneError } from '../../src/errors.js';
import { chatCompletionsProvider } from '../../src/plugin-sdk/chat-completions.js';
import { RestClient } from '../../src/plugin-sdk/http.js';
import type { InferenceProvider } from '../../src/plugins/providers.js';
import { TOGETHER_MISSING_KEY, togetherCredentials, type TogetherConfig } from './config.js';

/**
 * Generation with a Together model (a fine-tune's `output_name` or any serverless model) over
 * Together's OpenAI-compatible chat completions (https://api.together.xyz/v1), with the plugin's credentials.
 */
export function togetherInference(config: TogetherConfig, env: Readonly<Record<string, string | undefined>>): InferenceProvider {
  const credentials = togetherCredentials(config, env);
  if (!credentials) throw new FinetuneError('AUTH_INVALID', TOGETHER_MISSING_KEY.reason, { recovery: TOGETHER_MISSING_KEY.fix });
  const client = new RestClient({
    baseURL: credentials.baseURL,
    headers: { authorization: `Bearer ${credentials.apiKey}` },
    maxRetries: config.max_retries,
    timeoutMs: config.timeout_ms,
    provider: 'Together',
  });
  return chatCompletionsProvider({ client, provider: 'Together', maxTokensField: 'max_tokens' });
}
