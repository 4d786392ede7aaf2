import { FinetuneError } from '../errors.js';
import type { InferenceProvider, InferenceResult } from '../plugins/providers.js';
import type { RestClient } from './http.js';

export interface ChatCompletionsOptions {
  /** A client on the API root (`…/v1`), with the provider's auth headers. */
  client: RestClient;
  /** Provider name for messages, e.g. "Together". */
  provider: string;
  /**
   * The request field that caps the answer: OpenAI wants `max_completion_tokens` (its reasoning models
   * refuse `max_tokens`); Together, vLLM, Ollama and llama.cpp's server read `max_tokens`.
   */
  maxTokensField: 'max_tokens' | 'max_completion_tokens';
  /** When set, the only model names this endpoint serves; others are refused before any request. */
  models?: readonly string[];
}

interface ChatCompletionBody {
  choices?: Array<{ finish_reason?: string | null; message?: { content?: string | null }; logprobs?: { content?: Array<{ logprob: number }> | null } | null }>;
  /** `cost`: what the request cost, in USD, where the server reports it (OpenRouter does). */
  usage?: { prompt_tokens?: number; completion_tokens?: number; cost?: number } | null;
}

/**
 * An inference provider over an OpenAI-style `POST /chat/completions` (OpenAI, Together, vLLM,
 * Ollama, llama.cpp server …): one implementation, parameterised by endpoint and field names.
 * Retries and the status → error-code mapping are the RestClient's.
 */
export function chatCompletionsProvider(options: ChatCompletionsOptions): InferenceProvider {
  const { client, provider, maxTokensField, models } = options;
  return {
    async generate(request): Promise<InferenceResult> {
      if (models?.length && !models.includes(request.model)) {
        throw new FinetuneError('NOT_FOUND', `${provider} serves ${models.join(', ')}, not '${request.model}'.`, {
          recovery: `Name one of those models, or add '${request.model}' to the plugin's models list in the config.`,
          details: { field: 'model_id' },
        });
      }
      const body = {
        model: request.model,
        messages: request.messages,
        ...(request.max_tokens !== undefined ? { [maxTokensField]: request.max_tokens } : {}),
        ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
        ...(request.seed !== undefined ? { seed: request.seed } : {}),
        ...(request.logprobs ? { logprobs: true } : {}),
        ...(request.response_format ? { response_format: request.response_format } : {}),
      };
      const action = `generating with ${request.model}`;
      // Generation creates nothing upstream, so a 5xx may be retried like a 429.
      const response = await client.send('/chat/completions', { method: 'POST', json: body, action, retryServerErrors: true });
      const requestId = response.headers.get('x-request-id') ?? response.headers.get('request-id');
      const data = await readJson(response, provider, action);
      const choice = data.choices?.[0];
      if (!choice) throw new FinetuneError('UPSTREAM_ERROR', `${provider} returned no choices for ${request.model} [request id ${requestId ?? 'none'}].`);
      const logprobs = choice.logprobs?.content?.map((t) => t.logprob);
      return {
        text: choice.message?.content ?? '',
        finish_reason: choice.finish_reason ?? null,
        usage: data.usage ? { prompt_tokens: data.usage.prompt_tokens ?? 0, completion_tokens: data.usage.completion_tokens ?? 0 } : null,
        request_id: requestId,
        ...(typeof data.usage?.cost === 'number' && Number.isFinite(data.usage.cost) ? { cost_usd: data.usage.cost } : {}),
        ...(logprobs ? { token_logprobs: logprobs } : {}),
      };
    },
  };
}

async function readJson(response: Response, provider: string, action: string): Promise<ChatCompletionBody> {
  const text = await response.text();
  try {
    return JSON.parse(text) as ChatCompletionBody;
  } catch {
    throw new FinetuneError('UPSTREAM_ERROR', `${provider} answered ${action} with something that is not JSON: ${text.slice(0, 200)}`);
  }
}
