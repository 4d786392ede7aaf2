import type { FineTunableModel, FineTuningProfile, TrainingPrice } from '../openai-compatible/fine-tuning/profile.js';
import type { OpenAIConfig } from './config.js';

/**
 * What OpenAI publishes about fine-tunable models: the per-example training context limit
 * (platform.openai.com docs, "Fine-tuning", token limits) and the training price per million tokens
 * (its pricing page, as published with GPT-4.1 in April 2025). Unknown models get a warning, never a
 * guessed limit; a config (`plugins.openai.models`) can add or correct entries.
 */
const OPENAI_MODELS: Record<string, FineTunableModel & { usd_per_million_training_tokens: number }> = {
  'gpt-4.1-2025-04-14': { token_limit: 65_536, usd_per_million_training_tokens: 25, encoding: 'o200k_base', methods: ['sft', 'dpo'] },
  'gpt-4.1-mini-2025-04-14': { token_limit: 65_536, usd_per_million_training_tokens: 5, encoding: 'o200k_base', methods: ['sft', 'dpo'] },
  'gpt-4.1-nano-2025-04-14': { token_limit: 65_536, usd_per_million_training_tokens: 1.5, encoding: 'o200k_base', methods: ['sft', 'dpo'] },
  'gpt-4o-2024-08-06': { token_limit: 65_536, usd_per_million_training_tokens: 25, encoding: 'o200k_base', methods: ['sft', 'dpo'] },
  'gpt-4o-mini-2024-07-18': { token_limit: 65_536, usd_per_million_training_tokens: 3, encoding: 'o200k_base', methods: ['sft', 'dpo'] },
  'gpt-3.5-turbo-0125': { token_limit: 16_385, usd_per_million_training_tokens: 8, encoding: 'cl100k_base', methods: ['sft'] },
  'gpt-3.5-turbo-1106': { token_limit: 16_385, usd_per_million_training_tokens: 8, encoding: 'cl100k_base', methods: ['sft'] },
  'gpt-3.5-turbo-0613': { token_limit: 4_096, usd_per_million_training_tokens: 8, encoding: 'cl100k_base', methods: ['sft'] },
};

export const OPENAI_FINETUNE_MODEL_NAMES = Object.keys(OPENAI_MODELS);

const OPENAI_PRICE_SOURCE = { as_of: '2025-04', source: 'https://platform.openai.com/docs/pricing (fine-tuning, training)' };

/** Aliases users type for the dated snapshots above. */
const ALIASES: Record<string, string> = {
  'gpt-4.1': 'gpt-4.1-2025-04-14',
  'gpt-4.1-mini': 'gpt-4.1-mini-2025-04-14',
  'gpt-4.1-nano': 'gpt-4.1-nano-2025-04-14',
  'gpt-4o': 'gpt-4o-2024-08-06',
  'gpt-4o-mini': 'gpt-4o-mini-2024-07-18',
  'gpt-3.5-turbo': 'gpt-3.5-turbo-0125',
};

/** OpenAI's announced end of new fine-tuning jobs (its deprecation notice). */
export const OPENAI_FINETUNE_SHUTDOWN = '2027-01-06';

export const OPENAI_DEPRECATION_NOTICE =
  `OpenAI stops accepting new fine-tuning jobs after ${OPENAI_FINETUNE_SHUTDOWN} (per its deprecation notices). ` +
  'Existing fine-tuned models keep serving for now; plan to move to an open model with migrate_openai_finetune.';

/** OpenAI as a profile of the shared fine-tuning backend: its table (plus config corrections), its request shape, its shutdown date. */
export function openAIProfile(config: OpenAIConfig): FineTuningProfile {
  const models: Record<string, FineTunableModel> = {};
  const prices: Record<string, TrainingPrice> = {};
  for (const [name, { usd_per_million_training_tokens, ...info }] of Object.entries(OPENAI_MODELS)) {
    models[name] = info;
    prices[name] = { usd_per_million_training_tokens, ...OPENAI_PRICE_SOURCE };
  }
  for (const [name, { usd_per_million_training_tokens, ...info }] of Object.entries(config.models)) {
    models[name] = info;
    prices[name] = { usd_per_million_training_tokens, source: `plugins.openai.models['${name}'] (your config)` };
  }
  return {
    provider: 'OpenAI',
    plugin: 'openai',
    models,
    aliases: ALIASES,
    prices,
    unknown_model: 'warning',
    config_key: 'plugins.openai.models',
    min_examples: 10,
    hyperparameters_in: 'method',
    lora: false,
    deprecation: { no_new_jobs_after: OPENAI_FINETUNE_SHUTDOWN, notice: OPENAI_DEPRECATION_NOTICE },
    poll_interval_ms: { initial: config.poll_interval_ms, max: config.max_poll_interval_ms },
    wandb: { project: config.wandb_project, entity: config.wandb_entity },
  };
}
