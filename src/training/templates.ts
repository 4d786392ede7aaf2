import { FinetuneError } from '../errors.js';
import type { TrainingHyperparameters } from '../plugins/providers.js';
import { HyperparametersSchema } from './config-schema.js';

/** Values every template starts from (the Hugging Face TRL / PEFT defaults where one exists). */
export const BASE_HYPERPARAMETERS: TrainingHyperparameters = {
  epochs: 3,
  max_steps: 0,
  learning_rate: 2e-5,
  batch_size: 4,
  gradient_accumulation: 8,
  max_seq_length: 1024,
  warmup_ratio: 0.03,
  lr_scheduler: 'cosine',
  weight_decay: 0,
  adam_beta1: 0.9,
  adam_beta2: 0.999,
  adam_epsilon: 1e-8,
  max_grad_norm: 1,
  lora_r: 8,
  lora_alpha: 16,
  lora_dropout: 0.05,
  target_modules: 'all-linear',
  use_rslora: false,
  on_missing_target: 'error',
  dpo_beta: 0.1,
  loss_on: 'completion',
  packing: false,
  eval_steps: 0,
  save_steps: 0,
  save_total_limit: 2,
  early_stopping_patience: 0,
  early_stopping_min_delta: 0,
  seed: 42,
};

/** The named starting points: each overrides the base, and a user's overrides win over both. */
/** Hyperparameters with no default: set only by overrides, and only read by the methods they concern. */
const OPTIONAL_HYPERPARAMETERS = ['class_weights', 'pooling', 'embedding_loss'];

export const TEMPLATES = {
  efficient: {
    description: 'Cheap and quick: lr 2e-5, batch 4 × grad accumulation 8, 3 epochs, LoRA r 8 / alpha 16.',
    values: { learning_rate: 2e-5, batch_size: 4, gradient_accumulation: 8, epochs: 3, lora_r: 8, lora_alpha: 16 },
  },
  quality: {
    description: 'Slower, higher capacity: lr 1e-5, batch 2 × grad accumulation 16, 5 epochs, LoRA r 32 / alpha 64.',
    values: { learning_rate: 1e-5, batch_size: 2, gradient_accumulation: 16, epochs: 5, lora_r: 32, lora_alpha: 64 },
  },
  smoke: {
    description: 'A few tiny steps to prove the path works: 8 steps, batch 2, eval and checkpoint every 4 steps.',
    values: {
      max_steps: 8,
      epochs: 1,
      batch_size: 2,
      gradient_accumulation: 1,
      max_seq_length: 128,
      learning_rate: 1e-3,
      eval_steps: 4,
      save_steps: 4,
      warmup_ratio: 0,
      lora_r: 4,
      lora_alpha: 8,
      lora_dropout: 0,
    },
  },
} as const satisfies Record<string, { description: string; values: Partial<TrainingHyperparameters> }>;

type TemplateName = keyof typeof TEMPLATES;
export const TEMPLATE_NAMES = Object.keys(TEMPLATES) as TemplateName[];

/**
 * Template values with the caller's overrides applied field by field, validated as a whole.
 * An unknown field or a bad value is refused with the field named.
 */
export function resolveHyperparameters(template: string, overrides: Record<string, unknown> = {}): TrainingHyperparameters {
  if (!(template in TEMPLATES)) {
    throw new FinetuneError('INVALID_INPUT', `Unknown template '${template}'. Templates: ${TEMPLATE_NAMES.join(', ')}.`, { details: { field: 'template' } });
  }
  const known = new Set([...Object.keys(BASE_HYPERPARAMETERS), ...OPTIONAL_HYPERPARAMETERS]);
  const unknown = Object.keys(overrides).filter((k) => !known.has(k));
  if (unknown.length) {
    throw new FinetuneError('INVALID_INPUT', `Unknown hyperparameter${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')} in overrides.`, {
      recovery: `Use only these fields: ${[...known].join(', ')}.`,
      details: { field: `overrides.${unknown[0]}` },
    });
  }
  const merged = { ...BASE_HYPERPARAMETERS, ...TEMPLATES[template as TemplateName].values, ...overrides };
  const parsed = HyperparametersSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.join('.');
    throw new FinetuneError('INVALID_INPUT', `Hyperparameter '${field}' is invalid: ${issue.message}.`, { details: { field: `overrides.${field}` } });
  }
  return parsed.data as TrainingHyperparameters;
}
