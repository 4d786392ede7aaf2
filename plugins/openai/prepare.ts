import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isFinetuneError } from '../../src/errors.js';
import type { SpecIssue, TrainingSpec } from '../../src/plugins/providers.js';
import { textMethod } from '../../src/plugins/types.js';
import type { OpenAIConfig } from './config.js';
import { billedMessages, convertSplit, writeOpenAIFile, type OpenAIExample } from './format.js';
import { OPENAI_DEPRECATION_NOTICE, openAIModelInfo, pastShutdown, type OpenAIModelInfo } from './models.js';
import { countChatTokens } from './tokens.js';

/** OpenAI refuses training files with fewer examples than this. */
const MIN_EXAMPLES = 10;
const MAX_SUFFIX = 64;

interface PreparedFiles {
  train_path: string;
  validation_path?: string;
  train: OpenAIExample[];
  validation?: OpenAIExample[];
  model: OpenAIModelInfo | undefined;
}

/** The spec's splits as OpenAI examples, without writing anything (validate, quote). */
export async function loadExamples(spec: TrainingSpec, config: OpenAIConfig): Promise<Pick<PreparedFiles, 'train' | 'validation' | 'model'>> {
  const method = textMethod(spec.config.method, 'openai');
  const train = await convertSplit(spec.dataset.train_path, method);
  const validation = spec.dataset.validation_path && existsSync(spec.dataset.validation_path) ? await convertSplit(spec.dataset.validation_path, method) : undefined;
  return { train, validation, model: openAIModelInfo(spec.config.base_model, config.models) };
}

/** Converts the spec's splits into OpenAI JSONL files under `dir` (default `<output_dir>/openai/`) for upload. */
export async function prepareFiles(spec: TrainingSpec, config: OpenAIConfig, dir = join(spec.output_dir, 'openai')): Promise<PreparedFiles> {
  const method = textMethod(spec.config.method, 'openai');
  const train_path = join(dir, 'train.jsonl');
  const train = await writeOpenAIFile(spec.dataset.train_path, train_path, method);
  let validation: OpenAIExample[] | undefined;
  let validation_path: string | undefined;
  if (spec.dataset.validation_path && existsSync(spec.dataset.validation_path)) {
    validation_path = join(dir, 'validation.jsonl');
    validation = await writeOpenAIFile(spec.dataset.validation_path, validation_path, method);
    if (validation.length === 0) validation = validation_path = undefined;
  }
  return { train_path, train, validation_path, validation, model: openAIModelInfo(spec.config.base_model, config.models) };
}

interface TokenEstimate {
  examples: number;
  tokens_per_epoch: number;
  truncated_examples: number;
  longest_example_tokens: number;
}

/** Σ min(limit, tokens) over the examples: what one epoch bills. */
export function tokenEstimate(examples: readonly OpenAIExample[], model: OpenAIModelInfo | undefined): TokenEstimate {
  const encoding = model?.encoding ?? 'o200k_base';
  const limit = model?.token_limit ?? Infinity;
  let tokens_per_epoch = 0;
  let truncated_examples = 0;
  let longest_example_tokens = 0;
  for (const example of examples) {
    const tokens = countChatTokens(billedMessages(example), encoding);
    longest_example_tokens = Math.max(longest_example_tokens, tokens);
    if (tokens > limit) truncated_examples++;
    tokens_per_epoch += Math.min(limit, tokens);
  }
  return { examples: examples.length, tokens_per_epoch, truncated_examples, longest_example_tokens };
}

/** The pre-flight rules OpenAI applies, as issues (errors refuse the job, warnings inform). */
export async function validateSpec(spec: TrainingSpec, config: OpenAIConfig, now: Date): Promise<SpecIssue[]> {
  const issues: SpecIssue[] = [];
  const { config: cfg } = spec;
  issues.push(
    pastShutdown(now)
      ? // An ERROR_CODES code, kept by the refusal at submit (BACKEND_DEPRECATED came back as CONFIG_INVALID).
        { severity: 'error', code: 'CAPABILITY_UNSUPPORTED', field: 'backend', message: `${OPENAI_DEPRECATION_NOTICE} The date has passed: choose another backend.` }
      : { severity: 'warning', code: 'BACKEND_DEPRECATED', field: 'backend', message: OPENAI_DEPRECATION_NOTICE },
  );
  const model = openAIModelInfo(cfg.base_model, config.models);
  if (!model) {
    issues.push({
      severity: 'warning',
      code: 'MODEL_UNKNOWN',
      field: 'base_model',
      message: `'${cfg.base_model}' is not in the table of fine-tunable OpenAI models; token limit and cost are unknown (add it under plugins.openai.models).`,
    });
  } else if (!(model.methods as string[]).includes(cfg.method)) {
    issues.push({ severity: 'error', code: 'CAPABILITY_UNSUPPORTED', field: 'method', message: `OpenAI does not offer ${cfg.method} for ${cfg.base_model}; use one of ${model.methods.join(', ')}.` });
  }
  if (cfg.approach !== 'full') {
    issues.push({ severity: 'warning', code: 'APPROACH_IGNORED', field: 'approach', message: `OpenAI chooses its own training method; approach '${cfg.approach}' is not sent.` });
  }
  const suffix = cfg.backend_options.suffix;
  if (suffix !== undefined && (typeof suffix !== 'string' || suffix.length > MAX_SUFFIX)) {
    issues.push({ severity: 'error', code: 'CONFIG_INVALID', field: 'backend_options.suffix', message: `suffix must be a string of at most ${MAX_SUFFIX} characters.` });
  }
  const multiplier = cfg.backend_options.learning_rate_multiplier;
  if (multiplier !== undefined && !(typeof multiplier === 'number' && multiplier > 0)) {
    issues.push({ severity: 'error', code: 'CONFIG_INVALID', field: 'backend_options.learning_rate_multiplier', message: 'learning_rate_multiplier must be a positive number.' });
  } else if (multiplier === undefined) {
    issues.push({
      severity: 'warning',
      code: 'HYPERPARAMETER_IGNORED',
      field: 'hyperparameters.learning_rate',
      message: 'OpenAI takes a learning_rate_multiplier, not a learning rate: it picks its own unless backend_options.learning_rate_multiplier is set.',
    });
  }
  let prepared: Pick<PreparedFiles, 'train'>;
  try {
    prepared = await loadExamples(spec, config);
  } catch (error) {
    if (!isFinetuneError(error)) throw error;
    issues.push({ severity: 'error', code: error.code, field: error.details.field, message: error.message });
    return issues;
  }
  if (prepared.train.length < MIN_EXAMPLES) {
    issues.push({
      severity: 'error',
      // One of ERROR_CODES, so that the refusal at submit keeps it (an unknown code would come back as CONFIG_INVALID).
      code: 'DATASET_INVALID',
      field: 'dataset_id',
      message: `OpenAI needs at least ${MIN_EXAMPLES} training examples; the train split of ${cfg.dataset_id} has ${prepared.train.length}. Add examples (or split fewer off for validation and test) and prepare the dataset again.`,
    });
  }
  const tokens = tokenEstimate(prepared.train, model);
  if (tokens.truncated_examples > 0) {
    issues.push({
      severity: 'warning',
      code: 'EXAMPLES_TRUNCATED',
      field: 'hyperparameters.max_seq_length',
      message: `${tokens.truncated_examples} training example(s) exceed ${cfg.base_model}'s ${model?.token_limit} tokens (longest ${tokens.longest_example_tokens}); OpenAI truncates them.`,
    });
  }
  return issues;
}
