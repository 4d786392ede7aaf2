import { mapOpenAIError } from '../../../plugins/openai/errors.js';
import { openAISdk } from '../../../plugins/openai/sdk.js';
import { FinetuneError } from '../../errors.js';
import type { Judge } from '../../plugins/providers.js';
import { JUDGE_SYSTEM, judgeUserMessage, parseVerdict } from './prompt.js';
import type { JudgeSettings } from './settings.js';

/** A judge on any OpenAI-compatible chat completions endpoint (OpenAI, vLLM, Ollama …), temperature 0. */
export function openAICompatibleJudge(settings: JudgeSettings, options: { signal?: AbortSignal; fetch?: typeof fetch } = {}): Judge {
  if (!settings.api_key && !settings.base_url) {
    throw new FinetuneError('CAPABILITY_UNSUPPORTED', 'No judge is available: the client does not support sampling and no judge endpoint is configured.', {
      recovery: 'Use a client with MCP sampling, or set judge.base_url and judge.model (and judge.api_key or FINETUNE_MCP_JUDGE_API_KEY) in the config.',
      details: { field: 'judge' },
    });
  }
  const { OpenAI } = openAISdk();
  const client = new OpenAI({
    apiKey: settings.api_key ?? 'not-needed',
    baseURL: settings.base_url,
    timeout: settings.timeout_s * 1000,
    maxRetries: settings.max_retries,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const where = settings.base_url ?? 'the OpenAI API';
  return {
    async compare(input) {
      try {
        const { data, request_id } = await client.chat.completions
          .create(
            {
              model: settings.model,
              temperature: 0,
              max_tokens: settings.max_tokens,
              messages: [
                { role: 'system', content: JUDGE_SYSTEM },
                { role: 'user', content: judgeUserMessage(input) },
              ],
            },
            { signal: options.signal },
          )
          .withResponse();
        const text = data.choices[0]?.message?.content;
        if (typeof text !== 'string') {
          throw new FinetuneError('UPSTREAM_ERROR', `Judge ${settings.model} at ${where} returned no message [request id ${request_id ?? 'none'}].`);
        }
        return parseVerdict(text);
      } catch (error) {
        throw mapOpenAIError(error, { provider: `judge ${settings.model} at ${where}`, action: 'judging a pair of answers' });
      }
    },
  };
}
