import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FinetuneError } from '../../errors.js';
import { jsonErrorWhere, readUserFile } from '../../workspace/confine.js';
import { parseModelConfig, type ModelConfig } from './model-config.js';
import { readSafetensors } from './safetensors.js';
import { WEIGHT_PREFIXES } from './expected-weights.js';
import { loadTokenizer, type TextTokenizer } from './tokenizer.js';

/** One weight in f32, row-major, named as Hugging Face writes it. */
export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}

export interface LoadedModel {
  dir: string;
  config: ModelConfig;
  raw_config: Record<string, unknown>;
  /** `model.layers.0.self_attn.q_proj.weight` (Llama, [out, in]); GPT-2 `h.0.attn.c_attn.weight` (Conv1D, [in, out]). */
  weights: Map<string, WeightTensor>;
  tokenizer: TextTokenizer;
}

const SINGLE_WEIGHTS_FILE = 'model.safetensors';
export const SHARDED_INDEX_FILE = 'model.safetensors.index.json';

function notAModelFolder(dir: string, missing: string): FinetuneError {
  return new FinetuneError('FILE_ERROR', `${dir} is not a Hugging Face model folder: ${missing} is missing.`, {
    recovery: 'Point at a folder holding config.json, model.safetensors (or model.safetensors.index.json with its shards) and tokenizer.json.',
    details: { file: join(dir, missing) },
  });
}

/** The weights file of a model folder: the single file, else the sharded index. */
export function weightsPath(dir: string): string {
  const single = join(dir, SINGLE_WEIGHTS_FILE);
  if (existsSync(single)) return single;
  const index = join(dir, SHARDED_INDEX_FILE);
  if (existsSync(index)) return index;
  if (existsSync(join(dir, 'pytorch_model.bin'))) {
    throw new FinetuneError('MODEL_UNSUPPORTED', `${dir} has only pytorch_model.bin (pickle); only safetensors weights are read.`, {
      recovery: 'Convert the checkpoint to safetensors (transformers save_pretrained(safe_serialization=True)) and import it again.',
      details: { file: join(dir, 'pytorch_model.bin') },
    });
  }
  throw notAModelFolder(dir, SINGLE_WEIGHTS_FILE);
}

/** Reads and normalises config.json of a model folder. */
export function readModelConfig(dir: string): { config: ModelConfig; raw_config: Record<string, unknown> } {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw notAModelFolder(dir, 'config.json');
  const text = readUserFile(path, 'config.json', 'utf8');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new FinetuneError('CONFIG_INVALID', `${path} is not valid JSON (${jsonErrorWhere(error, text)}).`, { details: { file: path } });
  }
  try {
    return { config: parseModelConfig(raw), raw_config: raw };
  } catch (error) {
    if (error instanceof FinetuneError) error.details.file = path;
    throw error;
  }
}

/** Checks that the weights hold what the config promises (embedding shape), so a mismatch fails here, not mid-graph. */
function checkWeights(dir: string, config: ModelConfig, weights: Map<string, WeightTensor>): void {
  const bare = { llama: 'model.embed_tokens.weight', gpt2: 'wte.weight', bert: 'embeddings.word_embeddings.weight' }[config.architecture];
  const embeddingName = WEIGHT_PREFIXES[config.architecture].map((prefix) => prefix + bare);
  const embedding = embeddingName.map((n) => weights.get(n)).find(Boolean);
  if (!embedding) {
    throw new FinetuneError('FILE_ERROR', `The weights in ${dir} have no ${embeddingName.join(' or ')} tensor for a ${config.model_type} model.`, {
      recovery: 'Check that config.json and the safetensors belong to the same model.',
      details: { file: weightsPath(dir), field: embeddingName[0] },
    });
  }
  if (embedding.shape[0] !== config.vocab_size || embedding.shape[1] !== config.hidden_size) {
    throw new FinetuneError('FILE_ERROR', `Embedding shape [${embedding.shape}] in ${dir} does not match config.json (vocab_size ${config.vocab_size}, hidden ${config.hidden_size}).`, {
      details: { file: weightsPath(dir), field: embeddingName[0] },
    });
  }
}

const cache = new Map<string, { stamp: number; model: LoadedModel }>();
/** Loaded models kept in memory (least recently used dropped first): weights are the bulk of a process's memory. */
const CACHE_LIMIT = 4;

/**
 * Loads a Hugging Face model folder (config, f32 weights, tokenizer), cached per folder and weights
 * mtime. The returned weights are shared with other callers: never mutate them (mergeLora copies).
 */
export async function loadModelFolder(dir: string): Promise<LoadedModel> {
  const folder = resolve(dir);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new FinetuneError('FILE_ERROR', `Model folder ${folder} does not exist.`, { details: { file: folder } });
  }
  const { config, raw_config } = readModelConfig(folder);
  const weightsFile = weightsPath(folder);
  const stamp = statSync(weightsFile).mtimeMs;
  const hit = cache.get(folder);
  if (hit && hit.stamp === stamp) {
    cache.delete(folder);
    cache.set(folder, hit); // most recently used last
    return hit.model;
  }
  const weights = new Map<string, WeightTensor>();
  for (const [name, tensor] of readSafetensors(weightsFile)) weights.set(name, { shape: tensor.shape, data: tensor.data });
  checkWeights(folder, config, weights);
  const model: LoadedModel = { dir: folder, config, raw_config, weights, tokenizer: loadTokenizer(folder) };
  cache.delete(folder);
  cache.set(folder, { stamp, model });
  while (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  return model;
}
