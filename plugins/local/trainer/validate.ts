import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isFinetuneError } from '../../../src/errors.js';
import type { SpecIssue, TrainingSpec } from '../../../src/plugins/providers.js';
import { archFromConfig } from '../../../src/models/files/arch.js';
import { planLora } from '../engine/train-step.js';
import { readModelConfig } from '../../../src/models/files/load-model.js';
import { embeddingLoss } from '../../../src/training/embedding-loss.js';
import { checkTaskType } from './dataset.js';

/** Above this many parameters full fine-tuning in float32 on a CPU is slow and memory-hungry. */
const FULL_FT_WARN_PARAMETERS = 200_000_000;

/** Pre-flight checks of a spec against what the local trainer can do; never throws. */
export function validateSpec(spec: TrainingSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const error = (code: string, field: string, message: string) => issues.push({ severity: 'error', code, field, message });
  const warn = (code: string, field: string, message: string) => issues.push({ severity: 'warning', code, field, message });
  const { config } = spec;
  const hyper = config.hyperparameters;

  if ((config.method === 'classification' || config.method === 'embedding') && config.approach === 'qlora') error('CAPABILITY_UNSUPPORTED', 'approach', `QLoRA is built for sft and dpo on the local backend; train the ${config.method} head with lora.`);
  const taskProblem = checkTaskType(config.method, spec.dataset.task_type, hyper.loss_on);
  if (taskProblem) error('CAPABILITY_UNSUPPORTED', 'dataset_id', taskProblem);
  else if (config.method === 'embedding') {
    try {
      embeddingLoss(spec.dataset.task_type, hyper.embedding_loss);
    } catch (thrown) {
      error('CONFIG_INVALID', 'embedding_loss', (thrown as Error).message);
    }
  }
  if (!existsSync(spec.dataset.train_path)) error('DATASET_INVALID', 'dataset_id', `The training split ${spec.dataset.train_path} does not exist.`);
  if (spec.dataset.validation_path && !existsSync(spec.dataset.validation_path)) error('DATASET_INVALID', 'dataset_id', `The validation split ${spec.dataset.validation_path} does not exist.`);
  if (!spec.dataset.validation_path && (hyper.eval_steps > 0 || hyper.early_stopping_patience > 0)) {
    warn('NO_VALIDATION_SPLIT', 'eval_steps', 'The dataset has no validation split: no eval loss, no early stopping and no best checkpoint.');
  }

  if (!spec.model.dir || !existsSync(join(spec.model.dir, 'config.json'))) {
    error('MODEL_UNSUPPORTED', 'base_model', `The base model folder ${spec.model.dir || '(none)'} has no config.json; the local backend needs a Hugging Face folder (import_model).`);
  } else {
    try {
      const { config: modelConfig, raw_config } = readModelConfig(spec.model.dir);
      if (modelConfig.architecture === 'bert' && (config.method === 'sft' || config.method === 'dpo')) {
        error('CAPABILITY_UNSUPPORTED', 'method', `${modelConfig.model_type} is an encoder: the local engine trains it as an embedding model (method "embedding") or a classifier (method "classification"); ${config.method} needs a decoder base (llama, qwen2, gpt2 family) that generates text.`);
      }
      if (config.approach !== 'full') checkLoraTargets(spec, raw_config, issues);
      const params = approximateParameters(modelConfig);
      if (config.approach === 'full' && params > FULL_FT_WARN_PARAMETERS) {
        warn('SLOW_FULL_FINETUNE', 'approach', `Full fine-tuning of ~${Math.round(params / 1e6)}M parameters in float32 on this machine needs ~${Math.round((params * 16) / 2 ** 30)} GB for weights, gradients and AdamW states; lora is far lighter.`);
      }
      if (hyper.max_seq_length > modelConfig.max_position_embeddings) {
        warn('SEQ_TOO_LONG', 'max_seq_length', `max_seq_length ${hyper.max_seq_length} exceeds the model's context (${modelConfig.max_position_embeddings}); sequences are cut to max_seq_length but positions past the context are untrained.`);
      }
    } catch (thrown) {
      error(isFinetuneError(thrown) ? thrown.code : 'MODEL_UNSUPPORTED', 'base_model', (thrown as Error).message);
    }
  }

  const positive: Array<[keyof typeof hyper, number]> = [
    ['batch_size', 1],
    ['gradient_accumulation', 1],
    ['max_seq_length', 2],
  ];
  for (const [field, min] of positive) {
    const value = hyper[field] as number;
    if (!Number.isInteger(value) || value < min) error('CONFIG_INVALID', field, `${field} must be an integer ≥ ${min}; got ${value}.`);
  }
  if (!(hyper.learning_rate > 0)) error('CONFIG_INVALID', 'learning_rate', `learning_rate must be positive; got ${hyper.learning_rate}.`);
  if (hyper.max_steps <= 0 && !(hyper.epochs > 0)) error('CONFIG_INVALID', 'epochs', 'Set epochs > 0 or max_steps > 0.');
  if (config.approach !== 'full' && !(Number.isInteger(hyper.lora_r) && hyper.lora_r > 0)) error('CONFIG_INVALID', 'lora_r', `lora_r must be a positive integer; got ${hyper.lora_r}.`);
  if (config.method === 'dpo' && !(hyper.dpo_beta > 0)) error('CONFIG_INVALID', 'dpo_beta', `dpo_beta must be positive; got ${hyper.dpo_beta}.`);
  const threads = config.backend_options?.threads;
  if (threads !== undefined && !(typeof threads === 'number' && Number.isInteger(threads) && threads > 0)) {
    error('CONFIG_INVALID', 'backend_options.threads', `backend_options.threads must be a positive integer (ONNX Runtime intra-op threads); got ${JSON.stringify(threads)}.`);
  }
  const unknown = Object.keys(config.backend_options ?? {}).filter((k) => k !== 'threads');
  if (unknown.length > 0) warn('UNKNOWN_OPTION', 'backend_options', `The local backend ignores backend_options ${unknown.join(', ')}; it reads only threads.`);
  if (hyper.packing && config.method !== 'sft') warn('PACKING_IGNORED', 'packing', `Packing applies to SFT only; ${config.method} rows are not packed.`);
  if (hyper.embedding_loss !== undefined && config.method !== 'embedding') warn('UNKNOWN_OPTION', 'embedding_loss', `embedding_loss applies to embedding only; ${config.method} ignores it.`);
  if (hyper.class_weights !== undefined && config.method !== 'classification') warn('UNKNOWN_OPTION', 'class_weights', `class_weights applies to classification only; ${config.method} ignores it.`);
  return issues;
}

/** The engine's own LoRA plan for this architecture: missing targets refuse or warn before any work starts. */
function checkLoraTargets(spec: TrainingSpec, rawConfig: Record<string, unknown>, issues: SpecIssue[]): void {
  const hyper = spec.config.hyperparameters;
  try {
    const { missing } = planLora(archFromConfig(rawConfig), {
      r: hyper.lora_r,
      alpha: hyper.lora_alpha,
      dropout: hyper.lora_dropout,
      target_modules: hyper.target_modules,
      use_rslora: hyper.use_rslora,
      on_missing_target: hyper.on_missing_target,
    });
    if (missing.length > 0) {
      issues.push({ severity: 'warning', code: 'LORA_TARGETS_MISSING', field: 'target_modules', message: `LoRA target modules ${missing.join(', ')} do not exist in this model; training continues with the others (on_missing_target: continue).` });
    }
  } catch (thrown) {
    const error = isFinetuneError(thrown) ? thrown : null;
    issues.push({ severity: 'error', code: error?.code ?? 'MODEL_UNSUPPORTED', field: 'target_modules', message: `${(thrown as Error).message}. ${error?.recovery ?? ''}`.trim() });
  }
}

function approximateParameters(c: { hidden_size: number; num_hidden_layers: number; intermediate_size: number; vocab_size: number }): number {
  return c.vocab_size * c.hidden_size + c.num_hidden_layers * (4 * c.hidden_size * c.hidden_size + 3 * c.hidden_size * c.intermediate_size);
}
