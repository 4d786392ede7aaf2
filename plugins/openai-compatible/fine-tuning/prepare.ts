import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isFinetuneError } from '../../../src/errors.js';
import type { SpecIssue, TrainingSpec } from '../../../src/plugins/providers.js';
import { textMethod } from '../../../src/plugins/types.js';
import { billedMessages, convertSplit, writeOpenAIFile, type OpenAIExample } from './format.js';
import { lookupModel, pastDeprecation, type FineTunableModel, type FineTuningProfile } from './profile.js';
import { countChatTokens } from './tokens.js';

const MAX_SUFFIX = 64;

interface PreparedFiles {
  train_path: string;
  validation_path?: string;
  train: OpenAIExample[];
  validation?: OpenAIExample[];
  model: FineTunableModel | undefined;
}

/** The spec's splits as OpenAI examples, without writing anything (validate, quote). */
export async function loadExamples(spec: TrainingSpec, profile: FineTuningProfile): Promise<Pick<PreparedFiles, 'train' | 'validation' | 'model'>> {
  const method = textMethod(spec.config.method, profile.plugin);
  const train = await convertSplit(spec.dataset.train_path, method);
  const validation = spec.dataset.validation_path && existsSync(spec.dataset.validation_path) ? await convertSplit(spec.dataset.validation_path, method) : undefined;
  return { train, validation, model: lookupModel(profile, spec.config.base_model).info };
}

/** Converts the spec's splits into OpenAI-format JSONL files under `dir` (default `<output_dir>/<plugin>/`) for upload. */
export async function prepareFiles(spec: TrainingSpec, profile: FineTuningProfile, dir = join(spec.output_dir, profile.plugin)): Promise<PreparedFiles> {
  const method = textMethod(spec.config.method, profile.plugin);
  const train_path = join(dir, 'train.jsonl');
  const train = await writeOpenAIFile(spec.dataset.train_path, train_path, method);
  let validation: OpenAIExample[] | undefined;
  let validation_path: string | undefined;
  if (spec.dataset.validation_path && existsSync(spec.dataset.validation_path)) {
    validation_path = join(dir, 'validation.jsonl');
    validation = await writeOpenAIFile(spec.dataset.validation_path, validation_path, method);
    if (validation.length === 0) validation = validation_path = undefined;
  }
  return { train_path, train, validation_path, validation, model: lookupModel(profile, spec.config.base_model).info };
}

interface TokenEstimate {
  examples: number;
  tokens_per_epoch: number;
  truncated_examples: number;
  longest_example_tokens: number;
}

/** Σ min(limit, tokens) over the examples: what one epoch bills. */
export function tokenEstimate(examples: readonly OpenAIExample[], model: FineTunableModel | undefined): TokenEstimate {
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

/** The deprecation notice as an issue: a warning before the date, a refusal after it. */
function deprecationIssue(profile: FineTuningProfile, now: Date): SpecIssue[] {
  if (!profile.deprecation) return [];
  return [
    pastDeprecation(profile, now)
      ? // An ERROR_CODES code, kept by the refusal at submit (BACKEND_DEPRECATED came back as CONFIG_INVALID).
        { severity: 'error', code: 'CAPABILITY_UNSUPPORTED', field: 'backend', message: `${profile.deprecation.notice} The date has passed: choose another backend.` }
      : { severity: 'warning', code: 'BACKEND_DEPRECATED', field: 'backend', message: profile.deprecation.notice },
  ];
}

/** The model's place in the provider's table: unknown (warning or refusal, per profile) or the wrong method. */
function modelIssues(spec: TrainingSpec, profile: FineTuningProfile): SpecIssue[] {
  const { base_model, method } = spec.config;
  const { info } = lookupModel(profile, base_model);
  if (!info) {
    const known = Object.keys(profile.models);
    return [
      profile.unknown_model === 'error'
        ? {
            severity: 'error',
            code: 'MODEL_UNKNOWN',
            field: 'base_model',
            message: `'${base_model}' is not one of the fine-tunable models configured for ${profile.provider} (${known.join(', ') || 'none'}); add it to ${profile.config_key} if the provider fine-tunes it.`,
          }
        : {
            severity: 'warning',
            code: 'MODEL_UNKNOWN',
            field: 'base_model',
            message: `'${base_model}' is not in the table of fine-tunable ${profile.provider} models; token limit and cost are unknown (add it under ${profile.config_key}).`,
          },
    ];
  }
  if (!(info.methods as string[]).includes(method)) {
    return [{ severity: 'error', code: 'CAPABILITY_UNSUPPORTED', field: 'method', message: `${profile.provider} does not offer ${method} for ${base_model}; use one of ${info.methods.join(', ')}.` }];
  }
  return [];
}

/** backend_options the job-creation body reads, checked before anything is uploaded. */
function optionIssues(spec: TrainingSpec, profile: FineTuningProfile): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const { approach, backend_options: options } = spec.config;
  if (approach !== 'full' && !(approach === 'lora' && profile.lora)) {
    issues.push({ severity: 'warning', code: 'APPROACH_IGNORED', field: 'approach', message: `${profile.provider} chooses its own training method; approach '${approach}' is not sent.` });
  }
  const suffix = options.suffix;
  if (suffix !== undefined && (typeof suffix !== 'string' || suffix.length > MAX_SUFFIX)) {
    issues.push({ severity: 'error', code: 'CONFIG_INVALID', field: 'backend_options.suffix', message: `suffix must be a string of at most ${MAX_SUFFIX} characters.` });
  }
  const extra = options.hyperparameters;
  if (extra !== undefined && (typeof extra !== 'object' || extra === null || Array.isArray(extra) || Object.values(extra).some((v) => typeof v === 'object' && v !== null))) {
    issues.push({
      severity: 'error',
      code: 'CONFIG_INVALID',
      field: 'backend_options.hyperparameters',
      message: `hyperparameters must be an object of provider-specific numbers, strings or booleans (e.g. {"warmup_ratio": 0.1}), got ${JSON.stringify(extra)}.`,
    });
  }
  const multiplier = options.learning_rate_multiplier;
  if (multiplier !== undefined && !(typeof multiplier === 'number' && multiplier > 0)) {
    issues.push({ severity: 'error', code: 'CONFIG_INVALID', field: 'backend_options.learning_rate_multiplier', message: 'learning_rate_multiplier must be a positive number.' });
  } else if (multiplier === undefined) {
    issues.push({
      severity: 'warning',
      code: 'HYPERPARAMETER_IGNORED',
      field: 'hyperparameters.learning_rate',
      message: `${profile.provider} takes a learning_rate_multiplier, not a learning rate: it picks its own unless backend_options.learning_rate_multiplier is set.`,
    });
  }
  return issues;
}

/** The pre-flight rules the provider applies, as issues (errors refuse the job, warnings inform). */
export async function validateSpec(spec: TrainingSpec, profile: FineTuningProfile, now: Date): Promise<SpecIssue[]> {
  const { config: cfg } = spec;
  const issues: SpecIssue[] = [...deprecationIssue(profile, now), ...modelIssues(spec, profile), ...optionIssues(spec, profile)];
  let prepared: Pick<PreparedFiles, 'train' | 'model'>;
  try {
    prepared = await loadExamples(spec, profile);
  } catch (error) {
    if (!isFinetuneError(error)) throw error;
    issues.push({ severity: 'error', code: error.code, field: error.details.field, message: error.message });
    return issues;
  }
  if (prepared.train.length < profile.min_examples) {
    issues.push({
      severity: 'error',
      // One of ERROR_CODES, so that the refusal at submit keeps it (an unknown code would come back as CONFIG_INVALID).
      code: 'DATASET_INVALID',
      field: 'dataset_id',
      message: `${profile.provider} needs at least ${profile.min_examples} training examples; the train split of ${cfg.dataset_id} has ${prepared.train.length}. Add examples (or split fewer off for validation and test) and prepare the dataset again.`,
    });
  }
  const tokens = tokenEstimate(prepared.train, prepared.model);
  if (tokens.truncated_examples > 0) {
    issues.push({
      severity: 'warning',
      code: 'EXAMPLES_TRUNCATED',
      field: 'hyperparameters.max_seq_length',
      message: `${tokens.truncated_examples} training example(s) exceed ${cfg.base_model}'s ${prepared.model?.token_limit} tokens (longest ${tokens.longest_example_tokens}); ${profile.provider} truncates them.`,
    });
  }
  return issues;
}
