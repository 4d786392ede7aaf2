import { z } from 'zod';

/**
 * Config section `judge`: the LLM judge used when the client cannot sample. Either a model reference
 * (`model: "together:<model>"`, run by that inference plugin with its own credentials) or an
 * OpenAI-compatible endpoint (`base_url`, `model`, `api_key`), run by the openai-compatible plugin.
 */
export const JudgeSettingsSchema = z.object({
  base_url: z.string().url().optional().describe('OpenAI-compatible API root, e.g. "http://127.0.0.1:8000/v1" (vLLM, Ollama, OpenAI).'),
  model: z.string().min(1).default('gpt-4o-mini').describe('Judge model: a name at base_url (e.g. "gpt-4o-mini"), or without base_url a reference "<plugin>:<model>" (e.g. "together:meta-llama/Llama-3.3-70B-Instruct-Turbo").'),
  api_key: z.string().optional().describe('API key; or set FINETUNE_MCP_JUDGE_API_KEY.'),
  max_tokens: z.number().int().min(16).max(8192).default(512).describe('Most tokens the judge may write per verdict.'),
  timeout_s: z.number().positive().default(60).describe('Seconds before one judge request times out.'),
  max_retries: z.number().int().min(0).max(10).default(2).describe('Retries of a failed request (429, 5xx), and (judge_outputs) of an answer that is not a valid verdict.'),
  usd_per_1m_input_tokens: z.number().nonnegative().optional().describe('Price of the judge model per million prompt tokens, e.g. 0.15; with the output price, judge_outputs reports its cost.'),
  usd_per_1m_output_tokens: z.number().nonnegative().optional().describe('Price of the judge model per million completion tokens, e.g. 0.6.'),
});

export type JudgeSettings = z.infer<typeof JudgeSettingsSchema>;
