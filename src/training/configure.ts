import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { FinetuneError } from '../errors.js';
import type { TrainingCapabilities } from '../plugins/types.js';
import type { Services } from '../services.js';
import { ConfigDocumentSchema, PolicySchema, type ConfigDocument } from './config-schema.js';
import { resolveDataset, resolveModel, type DatasetFacts } from './inputs.js';
import { JobLedger, type StoredConfig } from './ledger.js';
import type { TrainingSettings } from './settings.js';
import { resolveHyperparameters } from './templates.js';

export interface ConfigureInput {
  base_model?: string;
  dataset_id?: string;
  method?: 'sft' | 'dpo' | 'auto';
  approach?: 'lora' | 'qlora' | 'full';
  backend?: string;
  template?: string;
  overrides?: Record<string, unknown>;
  backend_options?: Record<string, unknown>;
  policy?: Record<string, unknown>;
  /** A YAML or JSON config document: a file path or the text itself. Explicit fields win over it. */
  from_file?: string;
  from_text?: string;
}

export interface ConfigureResult {
  config: StoredConfig;
  method_reason: string;
  notes: string[];
  document_yaml: string;
}

/** Task types whose rows train with supervised fine-tuning. */
const SFT_TASKS = new Set(['chat', 'completion', 'text', 'instruction', 'classification']);

/** Validates a request against the data, the model and the backend's declared capabilities, then stores it immutably. */
export async function configureTraining(services: Services, input: ConfigureInput): Promise<ConfigureResult> {
  const doc = mergeDocument(services, input);
  const settings = services.config.training;
  const dataset = await resolveDataset(services, doc.dataset_id);
  const model = await resolveModel(services, doc.base_model);
  const notes: string[] = [];
  if (!model.known) notes.push(`Model '${doc.base_model}' is not a local model record; the backend must know it by this name.`);
  const { method, reason } = chooseMethod(doc.method, dataset, settings);
  const capabilities = backendCapabilities(services, doc.backend);
  checkCapabilities(services, doc.backend, capabilities, method, doc.approach);
  const hyperparameters = resolveHyperparameters(doc.template, doc.hyperparameters);
  if (model.context_length && hyperparameters.max_seq_length > model.context_length) {
    notes.push(`max_seq_length ${hyperparameters.max_seq_length} is over the model's context ${model.context_length}; rows will be cut to ${model.context_length}.`);
  }
  const maxRowTokens = dataset.token_stats?.max;
  if (maxRowTokens && maxRowTokens > hyperparameters.max_seq_length) {
    notes.push(`The longest row has ${maxRowTokens} tokens, over max_seq_length ${hyperparameters.max_seq_length}: long rows will be truncated.`);
  }
  const policyParse = PolicySchema.safeParse(doc.policy);
  if (!policyParse.success) {
    const issue = policyParse.error.issues[0];
    throw new FinetuneError('INVALID_INPUT', `policy.${issue.path.join('.')}: ${issue.message}.`, { details: { field: `policy.${issue.path.join('.')}` } });
  }
  const ledger = new JobLedger(services.workspace.db);
  const config = ledger.insertConfig({
    config_id: services.workspace.newId('config'),
    base_model: doc.base_model,
    dataset_id: doc.dataset_id,
    method,
    approach: doc.approach,
    backend: doc.backend,
    template: doc.template,
    hyperparameters,
    backend_options: doc.backend_options,
    policy: policyParse.data as StoredConfig['policy'],
    parent_config_id: null,
  });
  return { config, method_reason: reason, notes, document_yaml: exportConfig(config, 'yaml') };
}

/** The config as a document that configure_training accepts back (from_text / from_file). */
export function exportConfig(config: StoredConfig, format: 'yaml' | 'json'): string {
  const doc: ConfigDocument = {
    base_model: config.base_model,
    dataset_id: config.dataset_id,
    method: config.method,
    approach: config.approach,
    backend: config.backend,
    template: config.template,
    hyperparameters: { ...config.hyperparameters },
    backend_options: config.backend_options,
    policy: config.policy,
  };
  return format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : toYaml(doc);
}

function mergeDocument(services: Services, input: ConfigureInput): ConfigDocument & { base_model: string; dataset_id: string } {
  let imported: Record<string, unknown> = {};
  let where = 'arguments';
  if (input.from_file || input.from_text) {
    let text = input.from_text ?? '';
    let isJson = text.trimStart().startsWith('{');
    if (input.from_file) {
      const path = services.workspace.resolveUserPath(input.from_file, 'from_file');
      where = path;
      try {
        text = readFileSync(path, 'utf8');
      } catch (error) {
        throw new FinetuneError('FILE_ERROR', `Cannot read config file ${path}: ${(error as Error).message}`, { details: { file: path, field: 'from_file' } });
      }
      isJson = extname(path) === '.json';
    }
    try {
      const value: unknown = isJson ? JSON.parse(text) : parseYaml(text);
      if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('the document must be an object of settings');
      imported = value as Record<string, unknown>;
    } catch (error) {
      throw new FinetuneError('INVALID_INPUT', `Config document (${where}) is not valid ${isJson ? 'JSON' : 'YAML'}: ${(error as Error).message}`, {
        details: { file: input.from_file, field: input.from_file ? 'from_file' : 'from_text' },
      });
    }
  }
  const explicit = Object.fromEntries(
    Object.entries({
      base_model: input.base_model,
      dataset_id: input.dataset_id,
      method: input.method,
      approach: input.approach,
      backend: input.backend,
      template: input.template,
      backend_options: input.backend_options,
    }).filter(([, v]) => v !== undefined),
  );
  const merged = {
    ...imported,
    ...explicit,
    hyperparameters: { ...((imported.hyperparameters as object) ?? {}), ...(input.overrides ?? {}) },
    policy: { ...((imported.policy as object) ?? {}), ...(input.policy ?? {}) },
  };
  const parsed = ConfigDocumentSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.join('.');
    throw new FinetuneError('INVALID_INPUT', `Config field '${field}' (${where}) is invalid: ${issue.message}.`, { details: { field } });
  }
  return parsed.data;
}

/** sft/dpo as asked (checked against the data), or the auto choice with its reason. */
export function chooseMethod(requested: 'sft' | 'dpo' | 'auto', dataset: DatasetFacts, settings: TrainingSettings): { method: 'sft' | 'dpo'; reason: string } {
  const count = dataset.counts.train ?? dataset.counts.rows;
  const isPreference = dataset.task_type === 'preference';
  const canSft = SFT_TASKS.has(dataset.task_type);
  const pairs = settings.auto_min_preference_pairs;
  const examples = settings.auto_min_examples;
  const refuse = (message: string, recovery: string) => {
    throw new FinetuneError('DATASET_INVALID', message, { recovery, details: { field: 'method', dataset_id: dataset.dataset_id, task_type: dataset.task_type, rows: count } });
  };
  if (requested === 'dpo') {
    if (!isPreference) refuse(`DPO needs a preference dataset (prompt, chosen, rejected); ${dataset.dataset_id} is '${dataset.task_type}'.`, 'Use method "sft", or prepare a preference dataset.');
    return { method: 'dpo', reason: 'Asked for DPO.' };
  }
  if (requested === 'sft') {
    if (!canSft) refuse(`SFT needs chat, completion or text rows; ${dataset.dataset_id} is '${dataset.task_type}'.`, isPreference ? 'Use method "dpo" (or "auto") for preference data.' : 'Prepare the data as chat or completion rows.');
    return { method: 'sft', reason: 'Asked for SFT.' };
  }
  if (isPreference && count >= pairs) return { method: 'dpo', reason: `auto: ${count} preference pairs (≥ ${pairs}) → DPO.` };
  if (canSft && count >= examples) return { method: 'sft', reason: `auto: ${count} ${dataset.task_type} examples (≥ ${examples}) → SFT.` };
  const missing = isPreference
    ? `${dataset.dataset_id} has ${count} preference pairs; DPO needs at least ${pairs} (${pairs - count} more).`
    : canSft
      ? `${dataset.dataset_id} has ${count} examples; SFT needs at least ${examples} (${examples - count} more), or ${pairs} preference pairs for DPO.`
      : `${dataset.dataset_id} is '${dataset.task_type}' data: SFT needs ≥ ${examples} chat/completion/text examples, DPO ≥ ${pairs} preference pairs.`;
  return refuse(`method "auto" cannot choose: ${missing}`, 'Add examples (or pairs) and prepare a new dataset version, or lower training.auto_min_examples / auto_min_preference_pairs in the config.');
}

export function backendCapabilities(services: Services, backend: string): TrainingCapabilities {
  const status = services.plugins.status(backend);
  const enabled = services.plugins.providersOf('training_backend').map((s) => s.name);
  if (!status || !status.provides.includes('training_backend')) {
    throw new FinetuneError('PLUGIN_UNAVAILABLE', `No training backend named '${backend}'. Enabled backends: ${enabled.join(', ') || 'none'}.`, {
      recovery: 'Call list_backends and pass one of its names as `backend`.',
      details: { field: 'backend' },
    });
  }
  if (status.status !== 'enabled') {
    throw new FinetuneError('PLUGIN_UNAVAILABLE', `Backend '${backend}' is disabled: ${status.reason ?? 'unknown reason'}. Enabled backends: ${enabled.join(', ') || 'none'}.`, {
      recovery: status.fix ?? 'Call server_info to see why.',
      details: { field: 'backend' },
    });
  }
  const training = status.capabilities.training;
  if (!training) throw new FinetuneError('CAPABILITY_UNSUPPORTED', `Backend '${backend}' declares no training capabilities.`, { details: { field: 'backend' } });
  return training;
}

const APPROACH_NEIGHBOURS: Record<string, Array<'lora' | 'qlora' | 'full'>> = { qlora: ['lora', 'full'], lora: ['qlora', 'full'], full: ['lora', 'qlora'] };

/** Refuses an unsupported method/approach, naming the nearest combination that is supported. */
function checkCapabilities(services: Services, backend: string, caps: TrainingCapabilities, method: 'sft' | 'dpo', approach: 'lora' | 'qlora' | 'full'): void {
  if (caps.methods.includes(method) && caps.approaches.includes(approach)) return;
  const candidates: string[] = [];
  if (caps.methods.includes(method)) {
    for (const other of APPROACH_NEIGHBOURS[approach]) if (caps.approaches.includes(other)) candidates.push(`approach "${other}" on backend "${backend}"`);
  }
  for (const other of services.plugins.providersOf('training_backend')) {
    const t = other.capabilities.training;
    if (other.name !== backend && t?.methods.includes(method) && t.approaches.includes(approach)) candidates.push(`backend "${other.name}" (${method} + ${approach})`);
  }
  const what = caps.methods.includes(method) ? `approach "${approach}"` : `method "${method}"`;
  throw new FinetuneError('CAPABILITY_UNSUPPORTED', `Backend "${backend}" does not support ${what} (it supports methods ${caps.methods.join('/')} and approaches ${caps.approaches.join('/')}).`, {
    recovery: candidates.length ? `Nearest supported: ${candidates[0]}${candidates.length > 1 ? `; also ${candidates.slice(1).join(', ')}` : ''}.` : 'No enabled backend supports this combination; call list_backends.',
    details: { field: caps.methods.includes(method) ? 'approach' : 'method', alternatives: candidates },
  });
}
