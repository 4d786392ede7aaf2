import { chatCompletionsProvider } from '../../src/plugin-sdk/chat-completions.js';
import { RestClient } from '../../src/plugin-sdk/http.js';
import type { InferenceProvider } from '../../src/plugins/providers.js';
import { FinetuneError } from '../../src/errors.js';
import { MISSING_KEY, resolveCredentials, type OpenAIConfig } from './config.js';

const DEFAULT_OPENAI_URL = 'https://api.openai.com/v1';

/**
 * Generation with an OpenAI model (a fine-tune such as `ft:gpt-4o-mini:org::abc`, or its base) over
 * chat completions, with the plugin's own credentials: config first, then OPENAI_API_KEY and friends.
 */
export function openAIInference(config: OpenAIConfig, env: Readonly<Record<string, string | undefined>>): InferenceProvider {
  const credentials = resolveCredentials(config, env);
  if (!credentials) throw new FinetuneError('AUTH_INVALID', MISSING_KEY.reason, { recovery: MISSING_KEY.fix });
  const client = new RestClient({
    baseURL: credentials.baseURL ?? DEFAULT_OPENAI_URL,
    headers: {
      authorization: `Bearer ${credentials.apiKey}`,
      ...(credentials.organization ? { 'openai-organization': credentials.organization } : {}),
      ...(credentials.project ? { 'openai-project': credentials.project } : {}),
    },
    maxRetries: config.max_retries,
    timeoutMs: config.timeout_ms,
    provider: 'OpenAI',
  });
  return chatCompletionsProvider({ client, provider: 'OpenAI', maxTokensField: 'max_completion_tokens' });
}
