import type { SpecIssue, TrainingSpec } from '../../src/plugins/providers.js';

/** LoRA or full training, from our approach and LoRA hyperparameters. */
export function trainingType(spec: TrainingSpec): Record<string, unknown> {
  const hp = spec.config.hyperparameters;
  if (spec.config.approach === 'full') return { type: 'Full' };
  return {
    type: 'Lora',
    lora_r: hp.lora_r,
    lora_alpha: hp.lora_alpha,
    lora_dropout: hp.lora_dropout,
    lora_trainable_modules: hp.target_modules === 'all-linear' ? 'all-linear' : hp.target_modules.join(','),
  };
}

export function trainingMethod(spec: TrainingSpec): Record<string, unknown> {
  const hp = spec.config.hyperparameters;
  return spec.config.method === 'dpo'
    ? { method: 'dpo', dpo_beta: hp.dpo_beta }
    : { method: 'sft', train_on_inputs: hp.loss_on === 'all' };
}

/** Our scheduler as Together's: it offers linear and cosine; a constant rate is linear decay to a ratio of 1. */
function lrScheduler(spec: TrainingSpec): Record<string, unknown> {
  const { lr_scheduler } = spec.config.hyperparameters;
  const minRatio = typeof spec.config.backend_options.min_lr_ratio === 'number' ? spec.config.backend_options.min_lr_ratio : 0;
  if (lr_scheduler === 'constant') return { lr_scheduler_type: 'linear', lr_scheduler_args: { min_lr_ratio: 1 } };
  if (lr_scheduler === 'cosine') return { lr_scheduler_type: 'cosine', lr_scheduler_args: { min_lr_ratio: minRatio, num_cycles: 0.5 } };
  return { lr_scheduler_type: 'linear', lr_scheduler_args: { min_lr_ratio: minRatio } };
}

function intOption(spec: TrainingSpec, key: string): number | undefined {
  const value = spec.config.backend_options[key];
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
}

/** n_evals: the option, else one evaluation per epoch when there is a validation file. */
export function nEvals(spec: TrainingSpec, hasValidation: boolean): number {
  return intOption(spec, 'n_evals') ?? (hasValidation ? spec.config.hyperparameters.epochs : 0);
}

/** The POST /fine-tunes body from our frozen config. */
export function createBody(
  spec: TrainingSpec,
  files: { training: string; validation?: string },
  wandb: { api_key?: string; project_name?: string },
): Record<string, unknown> {
  const hp = spec.config.hyperparameters;
  const suffix = spec.config.backend_options.suffix;
  return {
    training_file: files.training,
    ...(files.validation ? { validation_file: files.validation } : {}),
    model: spec.config.base_model,
    n_epochs: hp.epochs,
    n_checkpoints: intOption(spec, 'n_checkpoints') ?? 1,
    n_evals: nEvals(spec, files.validation !== undefined),
    batch_size: spec.config.backend_options.batch_size === 'max' ? 'max' : hp.batch_size,
    learning_rate: hp.learning_rate,
    lr_scheduler: lrScheduler(spec),
    warmup_ratio: hp.warmup_ratio,
    max_grad_norm: hp.max_grad_norm,
    weight_decay: hp.weight_decay,
    ...(typeof suffix === 'string' ? { suffix } : {}),
    ...(wandb.api_key ? { wandb_api_key: wandb.api_key, wandb_name: spec.job_id, ...(wandb.project_name ? { wandb_project_name: wandb.project_name } : {}) } : {}),
    training_method: trainingMethod(spec),
    training_type: trainingType(spec),
    ...(typeof spec.config.backend_options.from_checkpoint === 'string' ? { from_checkpoint: spec.config.backend_options.from_checkpoint } : {}),
  };
}

/** What Together's API cannot take from our config, said before the job starts. */
export function togetherIssues(spec: TrainingSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const { config } = spec;
  const hp = config.hyperparameters;
  if (config.approach === 'qlora') {
    issues.push({ severity: 'error', code: 'CAPABILITY_UNSUPPORTED', field: 'approach', message: 'Together trains LoRA or full fine-tunes, not QLoRA: choose lora or full.' });
  }
  if (hp.early_stopping_patience > 0) {
    issues.push({ severity: 'warning', code: 'HYPERPARAMETER_IGNORED', field: 'hyperparameters.early_stopping_patience', message: 'Together’s fine-tuning API has no early-stopping setting; the job runs all epochs.' });
  }
  if (hp.gradient_accumulation !== 1) {
    issues.push({ severity: 'warning', code: 'HYPERPARAMETER_IGNORED', field: 'hyperparameters.gradient_accumulation', message: 'Together picks its own accumulation; only batch_size is sent.' });
  }
  if (hp.use_rslora) {
    issues.push({ severity: 'warning', code: 'HYPERPARAMETER_IGNORED', field: 'hyperparameters.use_rslora', message: 'Together’s API has no rsLoRA setting.' });
  }
  const suffix = config.backend_options.suffix;
  if (suffix !== undefined && (typeof suffix !== 'string' || suffix.length > 40)) {
    issues.push({ severity: 'error', code: 'CONFIG_INVALID', field: 'backend_options.suffix', message: 'suffix must be a string of at most 40 characters.' });
  }
  if (hp.epochs < 1 || hp.epochs > 20 || !Number.isInteger(hp.epochs)) {
    issues.push({ severity: 'error', code: 'CONFIG_INVALID', field: 'hyperparameters.epochs', message: 'Together takes 1 to 20 whole epochs.' });
  }
  return issues;
}
