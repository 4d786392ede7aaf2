import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readModelConfig, weightsPath } from './files/load-model.js';
import type { ModelConfig } from './files/model-config.js';
import { readSafetensorsShapes } from './files/safetensors.js';
import { loadTokenizer } from './files/tokenizer.js';
import { readFolderLicence, type FolderLicence } from './licence.js';
import type { ModelRecord } from './service.js';

interface ModelInspection {
  config: ModelConfig;
  weights: { tensors: number; dtypes: string[] };
  tokenizer: {
    vocab_size: number;
    bos_token: string | null;
    bos_token_id: number | null;
    eos_token: string | null;
    eos_token_id: number | null;
    pad_token: string | null;
    pad_token_id: number | null;
    has_chat_template: boolean;
  };
  files: Array<{ name: string; bytes: number }>;
  licence: FolderLicence | null;
}

/** Reads what a model folder holds without decoding its weights (headers only). */
export function inspectModel(record: ModelRecord): ModelInspection {
  const { config } = readModelConfig(record.dir);
  const shapes = readSafetensorsShapes(weightsPath(record.dir));
  const tokenizer = loadTokenizer(record.dir);
  return {
    config,
    weights: { tensors: shapes.size, dtypes: [...new Set([...shapes.values()].map((s) => s.dtype))].sort() },
    tokenizer: {
      vocab_size: tokenizer.vocab_size,
      bos_token: tokenizer.special_tokens.bos_token,
      bos_token_id: tokenizer.bos_token_id,
      eos_token: tokenizer.special_tokens.eos_token,
      eos_token_id: tokenizer.eos_token_id,
      pad_token: tokenizer.special_tokens.pad_token,
      pad_token_id: tokenizer.pad_token_id,
      has_chat_template: Boolean(tokenizer.chat_template),
    },
    files: readdirSync(record.dir)
      .sort()
      .map((name) => ({ name, bytes: statSync(join(record.dir, name)).size })),
    licence: readFolderLicence(record.dir),
  };
}
