import { z } from 'zod';
import type { FineTunableModel, FineTuningProfile } from './profile.js';

const METHODS = z.array(z.enum(['sft', 'dpo'])).min(1);

const ModelEntry = z.union([
  z.string().min(1),
  z.object({
    name: z.string().min(1).describe('Model name as the provider takes it, e.g. "meta-llama/Meta-Llama-3.1-8B-Instruct".'),
    token_limit: z.number().int().positive().optional().describe('Tokens one training example may hold, when the provider publishes it.'),
    methods: METHODS.optional().describe('Methods the provider offers for it; default the section\u2019s methods.'),
    encoding: z.enum(['o200k_base', 'cl100k_base']).optional().describe('Tokenizer used to estimate billed tokens (an approximation for non-OpenAI models).'),
  }),
]);

/** `plugins.openai-compatible.fine_tuning`: a provider of OpenAI's files + fine_tuning.jobs API. */
export const FineTuningSectionSchema = z.object({
  provider: z.string().min(1).optional().describe('Provider name for messages, e.g. "Nebius Token Factory"; default the base_url host.'),
  models: z.array(ModelEntry).min(1).describe('Fine-tunable base models; configure_training refuses others before any upload.'),
  methods: METHODS.default(['sft']).describe('Methods offered for models that do not list their own.'),
  prices: z
    .record(
      z.string(),
      z.object({
        usd_per_million_training_tokens: z.number().min(0),
        as_of: z.string().regex(/^\d{4}-\d{2}(-\d{2})?$/, 'a date, YYYY-MM or YYYY-MM-DD').describe('When the price was read.'),
        source: z.string().min(1).describe('Where it was read, e.g. the provider\u2019s pricing page URL.'),
      }),
    )
    .default({})
    .describe('Training price per model: USD per 1M training tokens, dated, with its source. Models without one are planned at $0 with a note.'),
  hyperparameters_in: z.enum(['top_level', 'method']).default('top_level').describe('Where SFT hyperparameters go: the top-level `hyperparameters` object (most providers) or OpenAI\u2019s `method.supervised.hyperparameters`.'),
  lora: z.boolean().default(false).describe('Send approach "lora" as hyperparameters {lora: true, lora_r, lora_alpha, lora_dropout} (Nebius Token Factory\u2019s fields).'),
  min_examples: z.number().int().min(1).default(10).describe('Fewest training examples the provider accepts.'),
  poll_interval_ms: z.number().int().positive().default(10_000),
  max_poll_interval_ms: z.number().int().positive().default(120_000),
  wandb_project: z.string().optional(),
  wandb_entity: z.string().optional(),
});

type FineTuningSection = z.infer<typeof FineTuningSectionSchema>;

/** The section as a profile of the shared fine-tuning backend. */
export function compatibleProfile(section: FineTuningSection, baseURL: string): FineTuningProfile {
  const models: Record<string, FineTunableModel> = {};
  for (const entry of section.models) {
    const { name, ...info } = typeof entry === 'string' ? { name: entry } : entry;
    models[name] = { encoding: info.encoding ?? 'o200k_base', methods: info.methods ?? section.methods, ...(info.token_limit ? { token_limit: info.token_limit } : {}) };
  }
  return {
    provider: section.provider ?? new URL(baseURL).host,
    plugin: 'openai-compatible',
    models,
    aliases: {},
    prices: section.prices,
    unknown_model: 'error',
    config_key: 'plugins.openai-compatible.fine_tuning.models (and .prices)',
    min_examples: section.min_examples,
    hyperparameters_in: section.hyperparameters_in,
    lora: section.lora,
    poll_interval_ms: { initial: section.poll_interval_ms, max: section.max_poll_interval_ms },
    wandb: { project: section.wandb_project, entity: section.wandb_entity },
  };
}
