/**
 * What OpenAI publishes about fine-tunable models: the per-example training context limit and the
 * training price per million tokens (platform.openai.com docs "Fine-tuning" token limits and the
 * pricing page, as of 2025). Unknown models get a warning, never a guessed limit; a config
 * (`plugins.openai.models`) can add or correct entries.
 */
export interface OpenAIModelInfo {
  /** Tokens one training example may hold; longer ones are truncated by OpenAI. */
  token_limit: number;
  /** USD per 1M training tokens (0 = not published; cost is then not estimated). */
  usd_per_million_training_tokens: number;
  encoding: 'o200k_base' | 'cl100k_base';
  methods: Array<'sft' | 'dpo'>;
}

export const OPENAI_FINETUNE_MODELS: Record<string, OpenAIModelInfo> = {
  'gpt-4.1-2025-04-14': { token_limit: 65_536, usd_per_million_training_tokens: 25, encoding: 'o200k_base', methods: ['sft', 'dpo'] },
  'gpt-4.1-mini-2025-04-14': { token_limit: 65_536, usd_per_million_training_tokens: 5, encoding: 'o200k_base', methods: ['sft', 'dpo'] },
  'gpt-4.1-nano-2025-04-14': { token_limit: 65_536, usd_per_million_training_tokens: 1.5, encoding: 'o200k_base', methods: ['sft', 'dpo'] },
  'gpt-4o-2024-08-06': { token_limit: 65_536, usd_per_million_training_tokens: 25, encoding: 'o200k_base', methods: ['sft', 'dpo'] },
  'gpt-4o-mini-2024-07-18': { token_limit: 65_536, usd_per_million_training_tokens: 3, encoding: 'o200k_base', methods: ['sft', 'dpo'] },
  'gpt-3.5-turbo-0125': { token_limit: 16_385, usd_per_million_training_tokens: 8, encoding: 'cl100k_base', methods: ['sft'] },
  'gpt-3.5-turbo-1106': { token_limit: 16_385, usd_per_million_training_tokens: 8, encoding: 'cl100k_base', methods: ['sft'] },
  'gpt-3.5-turbo-0613': { token_limit: 4_096, usd_per_million_training_tokens: 8, encoding: 'cl100k_base', methods: ['sft'] },
};

/** Aliases users type for the dated snapshots above. */
const ALIASES: Record<string, string> = {
  'gpt-4.1': 'gpt-4.1-2025-04-14',
  'gpt-4.1-mini': 'gpt-4.1-mini-2025-04-14',
  'gpt-4.1-nano': 'gpt-4.1-nano-2025-04-14',
  'gpt-4o': 'gpt-4o-2024-08-06',
  'gpt-4o-mini': 'gpt-4o-mini-2024-07-18',
  'gpt-3.5-turbo': 'gpt-3.5-turbo-0125',
};

/** Looks a base model up; a fine-tuned model (`ft:gpt-4o-mini-2024-07-18:org::id`) inherits its base's info. */
export function openAIModelInfo(model: string, overrides: Record<string, OpenAIModelInfo> = {}): OpenAIModelInfo | undefined {
  const base = model.startsWith('ft:') ? model.split(':')[1] : model;
  return overrides[base] ?? OPENAI_FINETUNE_MODELS[base] ?? OPENAI_FINETUNE_MODELS[ALIASES[base] ?? ''];
}

/** OpenAI's announced end of new fine-tuning jobs (its deprecation notice). */
export const OPENAI_FINETUNE_SHUTDOWN = '2027-01-06';

export const OPENAI_DEPRECATION_NOTICE =
  `OpenAI stops accepting new fine-tuning jobs after ${OPENAI_FINETUNE_SHUTDOWN} (per its deprecation notices). ` +
  'Existing fine-tuned models keep serving for now; plan to move to an open model with migrate_openai_finetune.';

/** True when a new job submitted at `now` would be refused by OpenAI's shutdown date. */
export function pastShutdown(now: Date): boolean {
  return now.getTime() > Date.parse(`${OPENAI_FINETUNE_SHUTDOWN}T23:59:59Z`);
}
