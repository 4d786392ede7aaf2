import { z } from 'zod';

/**
 * Config section `generator`: the model that writes candidate rows for review (generate_dataset).
 * Configured like the judge: an OpenAI-compatible endpoint (`base_url`, `model`, `api_key` or
 * FINETUNE_MCP_GENERATOR_API_KEY), or, without base_url, a model reference `<plugin>:<model>`
 * (e.g. "together:…", "local:mdl_…"). A call's `generator` argument overrides `model`.
 */
export const GeneratorSettingsSchema = z.object({
  base_url: z.string().url().optional().describe('OpenAI-compatible API root, e.g. "http://127.0.0.1:8000/v1" (vLLM, Ollama, OpenAI).'),
  model: z.string().min(1).default('gpt-4o-mini').describe('Generator model: a name at base_url, or without base_url a reference "<plugin>:<model>" (e.g. "local:mdl_…").'),
  api_key: z.string().optional().describe('API key; or set FINETUNE_MCP_GENERATOR_API_KEY.'),
  max_tokens: z.number().int().min(16).max(16384).default(1024).describe('Most tokens one generation request may write.'),
  temperature: z.number().min(0).max(2).default(0.7).describe('Sampling temperature; higher gives more varied rows.'),
  timeout_s: z.number().positive().default(120).describe('Seconds before one request times out.'),
  max_retries: z.number().int().min(0).max(10).default(2).describe('Retries of a failed request (429, 5xx) and of a malformed structured answer.'),
  concurrency: z.number().int().min(1).max(32).default(4).describe('Generation requests in flight at once.'),
});

export type GeneratorSettings = z.infer<typeof GeneratorSettingsSchema>;
