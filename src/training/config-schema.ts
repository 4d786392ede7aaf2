import { z } from 'zod';
import { EMBEDDING_LOSSES } from './embedding-loss.js';
import type { JobPolicy } from './ledger.js';

/** Every hyperparameter with its bounds; the stored config is exactly this shape. */
export const HyperparametersSchema = z.object({
  epochs: z.number().positive().max(100).describe('Passes over the training split, e.g. 3.'),
  max_steps: z.number().int().min(0).describe('Stop after this many optimizer steps; 0 = epochs × dataset size. E.g. 8.'),
  learning_rate: z.number().positive().max(1).describe('Peak learning rate, e.g. 2e-5.'),
  batch_size: z.number().int().min(1).max(4096).describe('Rows per micro-batch (pairs for DPO), e.g. 4.'),
  gradient_accumulation: z.number().int().min(1).max(4096).describe('Micro-batches per optimizer step, e.g. 8.'),
  max_seq_length: z.number().int().min(8).max(1_048_576).describe('Tokens per row after truncation, e.g. 1024.'),
  warmup_ratio: z.number().min(0).max(1).describe('Fraction of steps spent warming the learning rate up, e.g. 0.03.'),
  lr_scheduler: z.enum(['cosine', 'linear', 'constant']).describe('Learning-rate schedule after warm-up, e.g. "cosine".'),
  weight_decay: z.number().min(0).max(1).describe('AdamW weight decay, e.g. 0.'),
  adam_beta1: z.number().min(0).lt(1).describe('AdamW beta1, e.g. 0.9.'),
  adam_beta2: z.number().min(0).lt(1).describe('AdamW beta2, e.g. 0.999.'),
  adam_epsilon: z.number().positive().describe('AdamW epsilon, e.g. 1e-8.'),
  max_grad_norm: z.number().min(0).describe('Clip gradients to this global norm; 0 = off. E.g. 1.'),
  lora_r: z.number().int().min(1).max(1024).describe('LoRA rank, e.g. 8.'),
  lora_alpha: z.number().positive().describe('LoRA alpha (scale = alpha / r), e.g. 16.'),
  lora_dropout: z.number().min(0).lt(1).describe('Dropout on the LoRA input, e.g. 0.05.'),
  target_modules: z.union([z.literal('all-linear'), z.array(z.string().min(1)).min(1)]).describe('Modules that get adapters: "all-linear" or names like ["q_proj","v_proj"].'),
  use_rslora: z.boolean().describe('Rank-stabilised LoRA scale alpha / sqrt(r), e.g. false.'),
  on_missing_target: z.enum(['error', 'continue']).describe('When a target module is not in the model: "error" or "continue".'),
  dpo_beta: z.number().positive().describe('DPO temperature beta, e.g. 0.1.'),
  loss_on: z.enum(['completion', 'all']).describe('SFT loss on completion/assistant tokens only, or all tokens. E.g. "completion".'),
  packing: z.boolean().describe('Pack several rows into one sequence, e.g. false.'),
  eval_steps: z.number().int().min(0).describe('Validation loss every N optimizer steps; 0 = at the end only. E.g. 50.'),
  save_steps: z.number().int().min(0).describe('Checkpoint every N optimizer steps; 0 = at the end only. E.g. 100.'),
  save_total_limit: z.number().int().min(1).describe('Keep the last K checkpoints (plus the best), e.g. 2.'),
  early_stopping_patience: z.number().int().min(0).describe('Stop after N evals without improvement; 0 = off. E.g. 3.'),
  early_stopping_min_delta: z.number().min(0).describe('Smallest eval-loss drop that counts as improvement, e.g. 0.'),
  seed: z.number().int().min(0).describe('Random seed, e.g. 42.'),
  class_weights: z
    .union([z.literal('balanced'), z.record(z.string(), z.number().min(0))])
    .optional()
    .describe('Classification: cross-entropy weight per label, "balanced" (n / (classes × count), as scikit-learn) or e.g. {"spam": 3, "ham": 1}. Default: equal.'),
  embedding_loss: z
    .enum(EMBEDDING_LOSSES)
    .optional()
    .describe('Embedding: "mnrl" (pairs, triplets), "triplet" (triplets) or "cosine" (scored pairs). Default by data.'),
  pooling: z.enum(['mean', 'last', 'cls']).optional().describe('Default "last" (decoder classifier), "cls" (encoder one), "mean" (embedding).'),
});

export const GuardrailsSchema = z.object({
  on_nan: z.enum(['stop', 'warn']).default('stop').describe('NaN or infinite loss: "stop" (default) or "warn".'),
  explode_factor: z
    .number()
    .min(0)
    .default(2)
    .describe('The smoothed training loss diverges when it is above this × its best smoothed value and above it by more than explode_margin; 0 = off. Default 2.'),
  explode_margin: z
    .number()
    .positive()
    .optional()
    .describe('Smallest rise of the smoothed loss over its best that counts as divergence, in loss units. Default by method: sft 1 (nat per token), dpo ln 2 ≈ 0.693.'),
  on_explode: z.enum(['stop', 'warn']).default('stop').describe('Diverging loss: "stop" (default) or "warn".'),
  smoothing_steps: z.number().int().min(1).default(10).describe('The loss and gradient-norm rules look at the median of this many last steps (one odd batch does not trip them); 1 = raw values. Default 10.'),
  grad_spike_factor: z.number().min(0).default(10).describe('Smoothed gradient norm above this × the median of the last 50 norms is a spike; 0 = off. Default 10.'),
  on_grad_spike: z.enum(['stop', 'warn']).default('warn').describe('Gradient-norm spike: "warn" (default) or "stop".'),
  eval_rising_k: z.number().int().min(0).default(3).describe('Eval loss rising this many evals in a row trips the guardrail; 0 = off. Default 3.'),
  on_eval_rising: z.enum(['stop', 'warn']).default('warn').describe('Rising eval loss: "warn" (default) or "stop".'),
});

/** Budgets, alerts, guardrails and auto-resume: how a job of this config is watched. */
export const PolicySchema = z.object({
  max_cost_usd: z.number().positive().optional().describe('Stop the job when its cost reaches this, e.g. 25.'),
  max_runtime_s: z.number().positive().optional().describe('Stop the job after this many seconds of running, e.g. 3600.'),
  warn_at: z.array(z.number().gt(0).max(1)).default([0.5, 0.75, 0.9, 1]).describe('Budget fractions that emit warning events, e.g. [0.5, 0.75, 0.9, 1].'),
  webhook_url: z.url().optional().describe('POST a JSON alert here on budget warnings, guardrails and the end of the job, e.g. "https://hooks.example.com/ft".'),
  guardrails: GuardrailsSchema.default(GuardrailsSchema.parse({})).describe('Loss guardrails.'),
  auto_resume: z.boolean().default(false).describe('Resume an interrupted job from its last checkpoint when a server starts. Default false.'),
});

export function defaultPolicy(): Omit<JobPolicy, 'cost_usd_per_s'> {
  return PolicySchema.parse({}) as Omit<JobPolicy, 'cost_usd_per_s'>;
}

/** A config as exported and imported (YAML or JSON): everything but the ids and times. */
export const ConfigDocumentSchema = z.object({
  base_model: z.string().min(1).describe('Model id, e.g. "mdl_01hx…".'),
  dataset_id: z.string().min(1).describe('Dataset version id, e.g. "ds_01hx…".'),
  method: z.enum(['sft', 'dpo', 'classification', 'embedding', 'auto']).default('auto').describe('"sft", "dpo", "classification", "embedding" or "auto".'),
  approach: z.enum(['lora', 'qlora', 'full']).default('lora').describe('"lora", "qlora" or "full".'),
  backend: z.string().min(1).default('local').describe('Training backend (plugin) name, e.g. "local".'),
  template: z.string().default('efficient').describe('Template name: efficient, quality or smoke.'),
  hyperparameters: z.record(z.string(), z.unknown()).default({}).describe('Hyperparameter overrides, e.g. {"learning_rate": 1e-4}.'),
  backend_options: z.record(z.string(), z.unknown()).default({}).describe('Backend-specific options, e.g. {"gpu": "A100-80GB"}.'),
  policy: PolicySchema.partial().default({}).describe('Budgets, guardrails, webhook, auto_resume.'),
});
export type ConfigDocument = z.infer<typeof ConfigDocumentSchema>;
