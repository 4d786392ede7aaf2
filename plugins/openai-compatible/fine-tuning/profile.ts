/**
 * What differs between providers that speak OpenAI's `/v1/files` + `/v1/fine_tuning/jobs` API:
 * who they are, which models they fine-tune (with limits and prices) and a few request details.
 * The OpenAI plugin is one profile (plugins/openai/models.ts); `plugins.openai-compatible.fine_tuning`
 * builds another (config.ts). Everything else in this folder is shared.
 */
export interface FineTunableModel {
  /** Tokens one training example may hold (longer ones are truncated upstream); undefined when not published. */
  token_limit?: number;
  /** The tokenizer used to count billed tokens: exact for OpenAI models, an approximation for others. */
  encoding: 'o200k_base' | 'cl100k_base';
  methods: Array<'sft' | 'dpo'>;
}

/** A per-token training price, dated and sourced so a plan can say where its figure comes from. */
export interface TrainingPrice {
  usd_per_million_training_tokens: number;
  /** When the price was read (YYYY-MM or YYYY-MM-DD); absent for a figure the user typed into the config. */
  as_of?: string;
  /** Where it was read: a pricing page URL, or the config key it came from. */
  source: string;
}

export interface FineTuningProfile {
  /** The provider's name in messages: "OpenAI", "Nebius Token Factory". */
  provider: string;
  /** The plugin name: the prefix of model references (`<plugin>:<fine-tuned model>`). */
  plugin: string;
  models: Record<string, FineTunableModel>;
  /** Names users type for the models above (e.g. gpt-4o-mini → gpt-4o-mini-2024-07-18). */
  aliases: Record<string, string>;
  prices: Record<string, TrainingPrice>;
  /** A model outside the table: a warning (the table may lag the provider) or a refusal (the table is the user's list). */
  unknown_model: 'warning' | 'error';
  /** The config key a user edits to add a model or price, named in messages. */
  config_key: string;
  /** The provider refuses training files with fewer examples than this. */
  min_examples: number;
  /**
   * Where SFT hyperparameters go: OpenAI's `method.supervised.hyperparameters`, or the older top-level
   * `hyperparameters` object that most compatible providers read (DPO always goes in `method`).
   */
  hyperparameters_in: 'method' | 'top_level';
  /** Sends approach "lora" as `hyperparameters.{lora, lora_r, lora_alpha, lora_dropout}` (Nebius Token Factory's fields). */
  lora: boolean;
  deprecation?: { no_new_jobs_after: string; notice: string };
  poll_interval_ms: { initial: number; max: number };
  wandb?: { project?: string; entity?: string };
}

/** A model's facts and price; a fine-tuned model (`ft:<base>:org::id`) takes its base's. */
export function lookupModel(profile: FineTuningProfile, model: string): { name: string; info?: FineTunableModel; price?: TrainingPrice } {
  const bare = model.startsWith('ft:') ? model.split(':')[1]! : model;
  const name = Object.hasOwn(profile.models, bare) ? bare : Object.hasOwn(profile.aliases, bare) ? profile.aliases[bare]! : bare;
  return {
    name,
    info: Object.hasOwn(profile.models, name) ? profile.models[name] : undefined,
    price: Object.hasOwn(profile.prices, name) ? profile.prices[name] : Object.hasOwn(profile.prices, bare) ? profile.prices[bare] : undefined,
  };
}

/** True when a job submitted at `now` would be refused because the provider stopped taking new ones. */
export function pastDeprecation(profile: FineTuningProfile, now: Date): boolean {
  return profile.deprecation !== undefined && now.getTime() > Date.parse(`${profile.deprecation.no_new_jobs_after}T23:59:59Z`);
}
