import type OpenAI from 'openai';
import { FinetuneError } from '../../src/errors.js';
import { createOpenAIClient, type OpenAIConfig, OpenAIConfigSchema } from './config.js';
import { mapOpenAIError } from './errors.js';

export interface ChatGenerateRequest {
  /** `openai:<model>` (a remote_model artifact's uri) or a bare model name. */
  model: string;
  messages: Array<{ role: 'system' | 'developer' | 'user' | 'assistant'; content: string }>;
  max_tokens?: number;
  temperature?: number;
  seed?: number;
  signal?: AbortSignal;
}

export interface ChatGenerateResult {
  text: string;
  finish_reason: string | null;
  usage: { prompt_tokens: number; completion_tokens: number } | null;
  request_id: string | null;
}

export type ChatGenerate = (request: ChatGenerateRequest) => Promise<ChatGenerateResult>;

/** A remote_model uri as the API's model name: `openai:ft:gpt-4o-mini:org::abc` → `ft:gpt-4o-mini:org::abc`. */
export function modelFromUri(uri: string): string {
  const match = /^(openai|together):(.+)$/.exec(uri);
  return match ? match[2] : uri;
}

/**
 * A generate function over chat completions, for the evaluation stage: it runs a fine-tuned
 * OpenAI model (or its base) on one conversation. Deterministic settings are the caller's choice.
 */
export function createChatGenerate(client: OpenAI, provider = 'OpenAI'): ChatGenerate {
  return async (request) => {
    const model = modelFromUri(request.model);
    try {
      const { data, request_id } = await client.chat.completions
        .create(
          {
            model,
            messages: request.messages,
            ...(request.max_tokens !== undefined ? { max_completion_tokens: request.max_tokens } : {}),
            ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
            ...(request.seed !== undefined ? { seed: request.seed } : {}),
          },
          { signal: request.signal },
        )
        .withResponse();
      const choice = data.choices[0];
      if (!choice) throw new FinetuneError('UPSTREAM_ERROR', `${provider} returned no choices for ${model} [request id ${request_id ?? 'none'}].`);
      return {
        text: choice.message.content ?? '',
        finish_reason: choice.finish_reason,
        usage: data.usage ? { prompt_tokens: data.usage.prompt_tokens, completion_tokens: data.usage.completion_tokens } : null,
        request_id,
      };
    } catch (error) {
      throw mapOpenAIError(error, { provider, action: `generating with ${model}` });
    }
  };
}

/** The same, built from a plugin config section and the environment (OPENAI_API_KEY, OPENAI_BASE_URL). */
export function chatGenerateFromConfig(config: Partial<OpenAIConfig>, env: Readonly<Record<string, string | undefined>>): ChatGenerate {
  return createChatGenerate(createOpenAIClient(OpenAIConfigSchema.parse(config), env));
}
