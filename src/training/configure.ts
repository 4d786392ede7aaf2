import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { FinetuneError } from '../errors.js';
import { sentence } from '../plugins/host.js';
import type { TrainingCapabilities, TrainingMethod } from '../plugins/types.js';
import type { TrainingHyperparameters } from '../plugins/providers.js';
import type { TrainingDeps } from './deps.js';
import { ConfigDocumentSchema, PolicySchema, type ConfigDocument } from './config-schema.js';
import { embeddingLoss } from './embedding-loss.js';
import { resolveInputs, type DatasetFacts } from './inputs.js';

/** The yaml package, loaded when a config is first read or written as YAML, not at start-up. */
const yaml = () => createRequire(import.meta.url)('yaml') as typeof import('yaml');
import { JobLedger, type StoredConfig } from './ledger.js';
import type { TrainingSettings } from './settings.js';
import { resolveHyperparameters } from './templates.js';

interface ConfigureInput {
  base_model?: string;
  dataset_id?: string;
  method?: TrainingMethod | 'auto';
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

interface ConfigureResult {
  config: StoredConfig;
  method_reason: string;
  notes: string[];
  document_yaml: string;
}

/** What a backend that does not declare `capabilities.training.tasks` is taken to train. */
const UNDECLARED_TASKS: Record<TrainingMethod, string[]> = { sft: ['chat', 'completion', 'text'], dpo: ['preference'], classification: ['classification'], embedding: ['triplet'] };

const METHODS: readonly TrainingMethod[] = ['sft', 'dpo', 'classification', 'embedding'];

/** The method that trains a task type as it is meant (what `auto` picks when the backend offers it). */
const NATIVE_METHOD: Record<string, TrainingMethod> = { preference: 'dpo', classification: 'classification', triplet: 'embedding', pair: 'embedding', scored_pair: 'embedding' };

/** The task types each method of this backend trains (its declaration, or the undeclared default). */
function trainableTasks(caps: TrainingCapabilities): Record<TrainingMethod, string[]> {
  const declared = (m: TrainingMethod) => (caps.methods.includes(m) ? (caps.tasks?.[m] ?? UNDECLARED_TASKS[m]) : []);
  return { sft: declared('sft'), dpo: declared('dpo'), classification: declared('classification'), embedding: declared('embedding') };
}

/** How to turn data of a task type no backend trains into data one does. */
const CONVERSIONS: Record<string, string> = {
  classification:
    'turn each {text, label} row into a completion row {"prompt": text, "completion": label} (or a chat: user text, assistant label), import that file with prepare_dataset and configure SFT on it',
  binary_feedback:
    'no enabled backend trains KTO; pair a good and a bad answer to the same prompt as preference rows {"prompt", "chosen", "rejected"} for DPO, or keep only the rows labelled true as chat rows for SFT (the false rows then teach nothing), and import that file with prepare_dataset',
  triplet:
    'turn each {anchor, positive, negative} row into a preference row {"prompt": anchor, "chosen": positive, "rejected": negative}, import it with prepare_dataset and configure DPO on it',
};

/** Validates a request against the data, the model and the backend's declared capabilities, then stores it immutably. */
export async function configureTraining(services: TrainingDeps, input: ConfigureInput): Promise<ConfigureResult> {
  const doc = mergeDocument(services, input);
  const settings = services.config.training;
  const guard = await import('../generation/guard.js');
  guard.refuseReviewQueue(doc.dataset_id);
  const { dataset, model } = await resolveInputs(services, doc);
  await guard.refuseUnapprovedRows(services.workspace, dataset);
  const notes: string[] = [];
  if (!model.known) notes.push(`Model '${doc.base_model}' is not a local model record; the backend must know it by this name.`);
  const capabilities = backendCapabilities(services, doc.backend);
  const { method, reason } = chooseMethod(doc.method, dataset, settings, trainableTasks(capabilities));
  checkCapabilities(services, doc.backend, capabilities, method, doc.approach);
  checkTaskType(services, doc.backend, capabilities, method, dataset);
  const hyperparameters = resolveHyperparameters(doc.template, doc.hyperparameters);
  // the loss must fit the rows (cosine needs scores, the triplet loss a negative): refused now, not when the job starts
  if (method === 'embedding') embeddingLoss(dataset.task_type, hyperparameters.embedding_loss);
  else if (hyperparameters.embedding_loss) notes.push(`embedding_loss applies to method embedding only; ${method} ignores it.`);
  if (model.context_length && hyperparameters.max_seq_length > model.context_length) {
    notes.push(`max_seq_length ${hyperparameters.max_seq_length} is over the model's context ${model.context_length}; rows will be cut to ${model.context_length}.`);
  }
  const maxRowTokens = dataset.token_stats?.max;
  if (maxRowTokens && maxRowTokens > hyperparameters.max_seq_length) {
    notes.push(`The longest row has ${maxRowTokens} tokens, over max_seq_length ${hyperparameters.max_seq_length}: long rows will be truncated.`);
  }
  const shortRun = fewStepsNote(dataset.counts, hyperparameters);
  if (shortRun) notes.push(shortRun);
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

/** Below this many optimizer steps a fine-tune barely moves the weights (an agent should hear it before it spends the run). */
const FEW_STEPS = 20;

/** A note when the epochs give few optimizer steps: each step takes batch_size × gradient_accumulation rows. */
function fewStepsNote(counts: { rows: number; train?: number }, h: TrainingHyperparameters): string | undefined {
  if (h.max_steps > 0) return undefined;
  const rows = counts.train ?? counts.rows;
  const perStep = h.batch_size * h.gradient_accumulation;
  const steps = Math.ceil(h.epochs * Math.ceil(Math.ceil(rows / h.batch_size) / h.gradient_accumulation));
  if (steps >= FEW_STEPS) return undefined;
  return `Only about ${steps} optimizer steps (${rows} training rows × ${h.epochs} epochs ÷ ${perStep} rows a step, batch_size ${h.batch_size} × gradient_accumulation ${h.gradient_accumulation}): a run this short may change the model little. Lower gradient_accumulation, raise epochs or set max_steps.`;
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
  return format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : yaml().stringify(doc);
}

function mergeDocument(services: TrainingDeps, input: ConfigureInput): ConfigDocument & { base_model: string; dataset_id: string } {
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
      const value: unknown = isJson ? JSON.parse(text) : yaml().parse(text);
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

/**
 * sft/dpo as asked (checked against the data), or the auto choice with its reason. `tasks` is what
 * each method of the chosen backend trains: auto picks only among those.
 */
function chooseMethod(
  requested: TrainingMethod | 'auto',
  dataset: DatasetFacts,
  settings: TrainingSettings,
  tasks: Record<TrainingMethod, string[]> = UNDECLARED_TASKS,
): { method: TrainingMethod; reason: string } {
  const count = dataset.counts.train ?? dataset.counts.rows;
  const isPreference = dataset.task_type === 'preference';
  // auto trains preference data with DPO only (SFT on it, on the chosen answers, is an explicit choice).
  const canSft = !isPreference && tasks.sft.includes(dataset.task_type);
  const pairs = settings.auto_min_preference_pairs;
  const examples = settings.auto_min_examples;
  const refuse = (message: string, recovery: string) => {
    throw new FinetuneError('DATASET_INVALID', message, { recovery, details: { field: 'method', dataset_id: dataset.dataset_id, task_type: dataset.task_type, rows: count } });
  };
  if (requested === 'dpo') {
    if (!isPreference) refuse(`DPO needs a preference dataset (prompt, chosen, rejected); ${dataset.dataset_id} is '${dataset.task_type}'.`, 'Use method "sft", or prepare a preference dataset.');
    return { method: 'dpo', reason: 'Asked for DPO.' };
  }
  if (requested !== 'auto') return { method: requested, reason: `Asked for ${requested === 'sft' ? 'SFT' : requested}.` };
  if (isPreference && count >= pairs && tasks.dpo.includes('preference')) return { method: 'dpo', reason: `auto: ${count} preference pairs (≥ ${pairs}) → DPO.` };
  // classification rows train a classification head, triplets and (scored) pairs an embedding model, where the backend offers it.
  const native = NATIVE_METHOD[dataset.task_type];
  if (native && native !== 'dpo' && tasks[native].includes(dataset.task_type) && count >= examples) {
    return { method: native, reason: `auto: ${count} ${dataset.task_type} examples (≥ ${examples}) → ${native}.` };
  }
  if (canSft && count >= examples) return { method: 'sft', reason: `auto: ${count} ${dataset.task_type} examples (≥ ${examples}) → SFT.` };
  // Nothing on this backend trains this task type: checkTaskType names the options.
  if (!METHODS.some((m) => tasks[m].includes(dataset.task_type))) return { method: isPreference ? 'dpo' : 'sft', reason: '' };
  const missing = isPreference
    ? `${dataset.dataset_id} has ${count} preference pairs; DPO needs at least ${pairs} (${pairs - count} more).`
    : `${dataset.dataset_id} has ${count} examples; SFT needs at least ${examples} (${examples - count} more), or ${pairs} preference pairs for DPO.`;
  return refuse(`method "auto" cannot choose: ${missing}`, 'Add examples (or pairs) and prepare a new dataset version, or lower training.auto_min_examples / auto_min_preference_pairs in the config.');
}

/**
 * Refuses data the backend cannot train with this method (from its declared tasks), naming what it
 * does train and the nearest option: another method here, another backend, or a conversion.
 */
function checkTaskType(services: TrainingDeps, backend: string, caps: TrainingCapabilities, method: TrainingMethod, dataset: DatasetFacts): void {
  const tasks = trainableTasks(caps);
  const task = dataset.task_type;
  if (tasks[method].includes(task)) return;
  const options: string[] = [];
  for (const other of METHODS) if (other !== method && tasks[other].includes(task)) options.push(`method "${other}" on backend "${backend}"`);
  for (const status of services.plugins.providersOf('training_backend')) {
    const t = status.capabilities.training;
    if (status.name === backend || !t) continue;
    const theirs = trainableTasks(t);
    const m = theirs[method].includes(task) ? method : METHODS.find((x) => theirs[x].includes(task));
    if (m) options.push(`backend "${status.name}" (${m} on ${task})`);
  }
  if (CONVERSIONS[task]) options.push(CONVERSIONS[task]);
  const can = METHODS.filter((m) => tasks[m].length).map((m) => `${m} on ${tasks[m].join('/')}`).join(', ');
  const byMethod = options.length > 0 && options[0].startsWith('method') ? ` with ${method.toUpperCase()}` : '';
  throw new FinetuneError('CAPABILITY_UNSUPPORTED', `Backend "${backend}" cannot train '${task}' data${byMethod} (${dataset.dataset_id}): it trains ${can || 'nothing declared'}.`, {
    recovery: options.length
      ? `Nearest supported: ${options[0]}${options.length > 1 ? `; or ${options.slice(1).join('; or ')}` : ''}.`
      : `No enabled backend trains '${task}' data; prepare the data as chat, completion or preference rows (prepare_dataset), or call list_backends.`,
    details: { field: 'dataset_id', dataset_id: dataset.dataset_id, task_type: task, method, backend, alternatives: options },
  });
}

export function backendCapabilities(services: TrainingDeps, backend: string): TrainingCapabilities {
  const status = services.plugins.status(backend);
  const enabled = services.plugins.providersOf('training_backend').map((s) => s.name);
  const withheld = status?.unavailable?.find((u) => u.kind === 'training_backend');
  if (withheld) {
    throw new FinetuneError('PLUGIN_UNAVAILABLE', `Backend '${backend}' is disabled: ${sentence(withheld.reason)} Enabled backends: ${enabled.join(', ') || 'none'}.`, {
      recovery: withheld.fix,
      details: { field: 'backend' },
    });
  }
  if (!status || !status.provides.includes('training_backend')) {
    throw new FinetuneError('PLUGIN_UNAVAILABLE', `No training backend named '${backend}'. Enabled backends: ${enabled.join(', ') || 'none'}.`, {
      recovery: 'Call list_backends and pass one of its names as `backend`.',
      details: { field: 'backend' },
    });
  }
  if (status.status !== 'enabled') {
    throw new FinetuneError('PLUGIN_UNAVAILABLE', `Backend '${backend}' is disabled: ${sentence(status.reason ?? 'unknown reason')} Enabled backends: ${enabled.join(', ') || 'none'}.`, {
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
/** The approaches a backend trains this method with (its per-method declaration, else all of its approaches). */
function approachesFor(caps: TrainingCapabilities, method: TrainingMethod): Array<'lora' | 'qlora' | 'full'> {
  return caps.method_approaches?.[method] ?? caps.approaches;
}

function checkCapabilities(services: TrainingDeps, backend: string, caps: TrainingCapabilities, method: TrainingMethod, approach: 'lora' | 'qlora' | 'full'): void {
  const approaches = approachesFor(caps, method);
  if (caps.methods.includes(method) && approaches.includes(approach)) return;
  const candidates: string[] = [];
  if (caps.methods.includes(method)) {
    for (const other of APPROACH_NEIGHBOURS[approach]) if (approaches.includes(other)) candidates.push(`approach "${other}" on backend "${backend}"`);
  }
  for (const other of services.plugins.providersOf('training_backend')) {
    const t = other.capabilities.training;
    if (other.name !== backend && t?.methods.includes(method) && approachesFor(t, method).includes(approach)) candidates.push(`backend "${other.name}" (${method} + ${approach})`);
  }
  const what = caps.methods.includes(method) ? `approach "${approach}"${approaches === caps.approaches ? '' : ` for ${method}`}` : `method "${method}"`;
  throw new FinetuneError('CAPABILITY_UNSUPPORTED', `Backend "${backend}" does not support ${what} (it supports methods ${caps.methods.join('/')} and approaches ${approaches.join('/')}${approaches === caps.approaches ? '' : ` for ${method}`}).`, {
    recovery: candidates.length ? `Nearest supported: ${candidates[0]}${candidates.length > 1 ? `; also ${candidates.slice(1).join(', ')}` : ''}.` : 'No enabled backend supports this combination; call list_backends.',
    details: { field: caps.methods.includes(method) ? 'approach' : 'method', alternatives: candidates },
  });
}
