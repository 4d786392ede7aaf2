import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FinetuneError, toFinetuneError } from '../errors.js';
import type { Workspace } from '../workspace/workspace.js';

/**
 * What the control plane needs to know about a dataset version and a base model. It asks
 * services.datasets / services.models (docs/CONVENTIONS.md) when the server has them, and
 * otherwise reads the documented folder layout (`<home>/datasets/<id>/manifest.json`,
 * `<home>/models/<id>/config.json`) directly.
 */

export interface DatasetFacts {
  dataset_id: string;
  task_type: string;
  dir: string;
  train_path: string;
  validation_path?: string;
  counts: { rows: number; train?: number; validation?: number; test?: number };
  token_stats?: { tokenizer?: string; total: number; mean: number; p95?: number; max: number };
}

export interface ModelFacts {
  model_id: string;
  name: string;
  /** The Hugging Face-layout folder, when the model is local. */
  dir?: string;
  parameters?: number;
  layers?: number;
  hidden_size?: number;
  intermediate_size?: number;
  vocab_size?: number;
  heads?: number;
  kv_heads?: number;
  head_dim?: number;
  tied_embeddings?: boolean;
  /** Qwen2-style biases on the q, k and v projections. */
  qkv_bias?: boolean;
  context_length?: number;
  dtype: string;
  /** False when nothing is known but the name (remote models such as gpt-4o-mini). */
  known: boolean;
}

interface DatasetLike {
  id?: string;
  task_type?: string;
  dir: string;
  manifest: { task_type?: string; counts?: DatasetFacts['counts']; token_stats?: DatasetFacts['token_stats'] };
}
interface DatasetServiceLike {
  get(id: string): DatasetLike | Promise<DatasetLike>;
  rowsPath?(id: string, split?: string): string | Promise<string>;
}
interface ModelLike {
  id: string;
  name?: string;
  dir?: string;
  parameters?: number;
  context_length?: number;
}
interface ModelServiceLike {
  get(id: string): ModelLike | Promise<ModelLike>;
}

/**
 * Where inputs are looked up: the workspace and, when the server has them, its dataset and model
 * services (a `Services` is one). Taking only these keeps this module out of the services graph.
 */
export interface InputSources {
  workspace: Pick<Workspace, 'root'>;
  datasets?: DatasetServiceLike;
  models?: ModelServiceLike;
}

/** The dataset version and base model a config trains on: resolved once per tool call and passed down. */
export interface TrainingInputs {
  dataset: DatasetFacts;
  model: ModelFacts;
}

export async function resolveInputs(sources: InputSources, config: { dataset_id: string; base_model: string }): Promise<TrainingInputs> {
  const [dataset, model] = await Promise.all([resolveDataset(sources, config.dataset_id), resolveModel(sources, config.base_model)]);
  return { dataset, model };
}

export async function resolveDataset(sources: InputSources, dataset_id: string): Promise<DatasetFacts> {
  const service = sources.datasets;
  // The documented folder is the contract: a version folder with a manifest is a dataset version.
  const dir = join(sources.workspace.root, 'datasets', dataset_id);
  const manifestPath = join(dir, 'manifest.json');
  const onDisk = /^[A-Za-z0-9_-]+$/.test(dataset_id) && existsSync(manifestPath);
  let record: DatasetLike | undefined;
  // The service's record first (tools call services); a folder it has no record of (written by
  // another tool, or a test) is read from the documented layout.
  if (service) {
    try {
      record = await service.get(dataset_id);
    } catch (error) {
      if (!onDisk || toFinetuneError(error).code !== 'NOT_FOUND') throw error;
    }
  }
  if (!record) {
    if (!onDisk) throw new FinetuneError('NOT_FOUND', `No dataset version '${dataset_id}'.`, { recovery: 'Call list_datasets and pass an existing dataset_id.', details: { field: 'dataset_id' } });
    try {
      record = { dir, manifest: JSON.parse(readFileSync(manifestPath, 'utf8')) as DatasetLike['manifest'] };
    } catch (error) {
      throw new FinetuneError('DATASET_INVALID', `Manifest of ${dataset_id} is unreadable: ${(error as Error).message}`, { details: { file: manifestPath } });
    }
  }
  const manifest = record.manifest;
  const split = (name: string) => (existsSync(join(record.dir, `${name}.jsonl`)) ? join(record.dir, `${name}.jsonl`) : undefined);
  // An empty validation file (a split with no validation rows) is no validation set: remote backends would upload it.
  const validation = split('validation');
  const train_path = split('train') ?? join(record.dir, 'rows.jsonl');
  return {
    dataset_id,
    task_type: record.task_type ?? manifest.task_type ?? 'unknown',
    dir: record.dir,
    train_path,
    validation_path: validation && statSync(validation).size > 0 ? validation : undefined,
    counts: manifest.counts ?? { rows: 0 },
    token_stats: manifest.token_stats,
  };
}

export async function resolveModel(sources: InputSources, model_id: string): Promise<ModelFacts> {
  const service = sources.models;
  let record: ModelLike | undefined;
  // A model id (mdl_…) must name a record; any other string is a name the backend resolves itself
  // (a remote model such as gpt-4o-mini), checked by the backend's validate().
  if (service && model_id.startsWith('mdl_')) {
    record = await service.get(model_id);
  } else if (/^[A-Za-z0-9_-]+$/.test(model_id) && existsSync(join(sources.workspace.root, 'models', model_id, 'config.json'))) {
    record = { id: model_id, dir: join(sources.workspace.root, 'models', model_id) };
  }
  const hf = record?.dir ? readHfConfig(record.dir) : undefined;
  const facts: ModelFacts = {
    model_id,
    name: record?.name ?? model_id,
    dir: record?.dir,
    layers: num(hf?.num_hidden_layers ?? hf?.n_layer ?? hf?.n_layers),
    hidden_size: num(hf?.hidden_size ?? hf?.n_embd ?? hf?.dim),
    intermediate_size: num(hf?.intermediate_size ?? hf?.hidden_dim),
    vocab_size: num(hf?.vocab_size),
    heads: num(hf?.num_attention_heads ?? hf?.n_head ?? hf?.n_heads),
    kv_heads: num(hf?.num_key_value_heads ?? hf?.n_kv_heads),
    head_dim: num(hf?.head_dim),
    tied_embeddings: typeof hf?.tie_word_embeddings === 'boolean' ? hf.tie_word_embeddings : undefined,
    qkv_bias: hf?.model_type === 'qwen2' || hf?.attention_bias === true,
    context_length: record?.context_length ?? num(hf?.max_position_embeddings ?? hf?.max_seq_len),
    dtype: typeof hf?.torch_dtype === 'string' ? hf.torch_dtype : 'float32',
    known: record !== undefined,
    parameters: record?.parameters,
  };
  facts.parameters ??= parametersFromShape(facts) ?? parametersFromName(model_id);
  return facts;
}

function readHfConfig(dir: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * Llama-style decoder (Llama, Mistral, Qwen2): embeddings, per layer q/o (d × d), k/v (d × kv_dim,
 * grouped-query attention), q/k/v biases for Qwen2, a gated MLP (3 × d × ff) and two RMSNorms,
 * a final norm, and an output head unless it is tied to the embeddings.
 */
export function parametersFromShape(m: Pick<ModelFacts, 'layers' | 'hidden_size' | 'intermediate_size' | 'vocab_size' | 'heads' | 'kv_heads' | 'head_dim' | 'tied_embeddings' | 'qkv_bias'>): number | undefined {
  if (!m.layers || !m.hidden_size) return undefined;
  const d = m.hidden_size;
  const ff = m.intermediate_size ?? 4 * d;
  const vocab = m.vocab_size ?? 32000;
  const kvDim = kvDimension(m);
  const attention = 2 * d * d + 2 * d * kvDim + (m.qkv_bias ? d + 2 * kvDim : 0);
  const perLayer = attention + 3 * d * ff + 2 * d;
  return vocab * d + m.layers * perLayer + d + (m.tied_embeddings ? 0 : vocab * d);
}

/** Width of the k and v projections: kv heads × head size (= d without grouped-query attention). */
export function kvDimension(m: Pick<ModelFacts, 'hidden_size' | 'heads' | 'kv_heads' | 'head_dim'>): number {
  const d = m.hidden_size ?? 0;
  if (!m.heads || !m.kv_heads) return d;
  return m.kv_heads * (m.head_dim ?? d / m.heads);
}

/** "Llama-3-8B", "qwen2.5-0.5b-instruct" → 8e9, 5e8; undefined when the name says nothing. */
function parametersFromName(name: string): number | undefined {
  const match = /(\d+(?:\.\d+)?)\s*([bm])(?![a-z])/i.exec(name);
  if (!match) return undefined;
  return Number(match[1]) * (match[2].toLowerCase() === 'b' ? 1e9 : 1e6);
}
