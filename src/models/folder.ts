import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { archFromConfig } from './files/arch.js';
import { checkLoadable } from './files/expected-weights.js';
import { readModelConfig, SHARDED_INDEX_FILE, weightsPath } from './files/load-model.js';
import type { ModelConfig } from './files/model-config.js';
import { readSafetensorsShapes, shardFiles } from './files/safetensors.js';
import { loadTokenizer } from './files/tokenizer.js';
import { probeTokenizer } from './files/tokenizer-probe.js';
import { copyUserFile } from '../workspace/confine.js';

/** What an import learns about a Hugging Face folder without decoding its weights. */
export interface FolderSummary {
  config: ModelConfig;
  /** sha256 over the weight files' bytes, in file order (one file, or the shards in index order). */
  sha256: string;
  /** sha256 over the weights hash, config.json and the tokenizer files: equal content, equal model. */
  content_hash: string;
  parameters: number;
  files: string[];
}

/** The files a model folder carries over (weights, config, tokenizer, generation defaults). */
const MODEL_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja'];
/**
 * Files that say the model's licence (the model card's front matter, the licence text): carried over so
 * inspect_model can report it, and left out of the content hash (a card edit is the same model).
 */
export const LICENCE_FILES = ['README.md', 'LICENSE', 'LICENSE.txt', 'LICENSE.md'];

/** The weight files of a folder: model.safetensors, or the index plus its shards. */
function weightFiles(dir: string): string[] {
  const main = weightsPath(dir);
  return basename(main) === SHARDED_INDEX_FILE ? [main, ...shardFiles(main)] : [main];
}

/** Copies a model folder's files (following symlinks, as a Hub snapshot has) into `target`. */
export function copyModelFiles(source: string, target: string): string[] {
  readModelConfig(source); // refuse a non-model or unsupported folder before copying gigabytes
  const copied: string[] = [];
  const named = [...MODEL_FILES, ...LICENCE_FILES].filter((f) => existsSync(join(source, f))).map((f) => join(source, f));
  for (const file of [...named, ...weightFiles(source)]) {
    copyUserFile(file, join(target, basename(file)), 'source'); // each file (a link, a shard) confined to the roots
    copied.push(basename(file));
  }
  return copied.sort();
}

async function hashFiles(paths: readonly string[], hash = createHash('sha256')): Promise<string> {
  for (const path of paths) for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Validates a folder as a loadable model (config, weight headers, tokenizer) and hashes it. */
export async function summarizeFolder(dir: string): Promise<FolderSummary> {
  const { config, raw_config } = readModelConfig(dir);
  const weights = weightFiles(dir);
  // Headers only: each tensor's shape, dtype and byte range are checked against each other and the file size.
  const shapes = readSafetensorsShapes(weights[0]);
  // What the runtime will build from config.json must fit these tensors, or the model could never load.
  checkLoadable(archFromConfig(raw_config), shapes, weights[0]);
  let parameters = 0;
  for (const { shape } of shapes.values()) parameters += shape.reduce((a, b) => a * b, 1);
  loadTokenizer(dir); // a tokenizer that does not load is refused here, not at the first generate
  await probeTokenizer(dir); // and one that loads but encodes too slowly (a polynomial regex), in a worker with a deadline
  const sha256 = await hashFiles(weights.length > 1 ? weights.slice(1) : weights);
  const described = MODEL_FILES.filter((f) => f !== 'generation_config.json' && existsSync(join(dir, f))).map((f) => join(dir, f));
  const content = createHash('sha256').update(`weights:${sha256}\n`);
  for (const file of described) content.update(`${basename(file)}:${statSync(file).size}\n`);
  const content_hash = await hashFiles(described, content);
  return { config, sha256, content_hash, parameters, files: readdirSync(dir).sort() };
}
