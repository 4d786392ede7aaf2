import { join } from 'node:path';
import { archFromConfig, requireDecoder } from '../files/arch.js';
import { loadModelFolder } from '../files/load-model.js';
import { mergeAdapterFolder } from '../files/peft.js';
import { ggufModel, type TypePlan } from './architecture.js';
import type { GgmlType } from './quantize.js';
import { ggufVocabulary } from './vocab.js';
import { str, writeGguf } from './writer.js';

interface GgufExportResult {
  file: string;
  architecture: string;
  bytes: number;
  /** Tensors written per ggml type, e.g. { q8_0: 36, f16: 5, f32: 11 }. */
  tensor_types: Partial<Record<GgmlType, number>>;
  /** Matrices q8_0 could not hold, stored as the fallback type instead. */
  fallbacks: string[];
  chat_template: string | null;
  eos_token: string | null;
}

/** Writes `<dir>/<fileName>`: the base model with the adapter (if any) merged in, with its tokenizer and chat template. */
export async function exportGguf(source: { base_dir: string; adapter_dir: string | null; label: string }, dir: string, fileName: string, plan: TypePlan): Promise<GgufExportResult> {
  const model = await loadModelFolder(source.base_dir);
  const arch = archFromConfig(model.raw_config);
  requireDecoder(arch, 'be exported as GGUF for llama.cpp or Ollama');
  const weights = source.adapter_dir ? mergeAdapterFolder(model.weights, source.adapter_dir, arch.family) : model.weights;
  const { metadata, tensors, fallbacks } = ggufModel(arch, weights, plan);
  const embedding = tensors.find((t) => t.name === 'token_embd.weight')!;
  metadata.set('general.name', str(source.label));
  for (const [key, value] of ggufVocabulary(model.dir, model.tokenizer, arch, embedding.shape[0])) metadata.set(key, value);
  const bytes = writeGguf(join(dir, fileName), metadata, tensors);
  const tensor_types: GgufExportResult['tensor_types'] = {};
  for (const t of tensors) tensor_types[t.type] = (tensor_types[t.type] ?? 0) + 1;
  return {
    file: fileName,
    architecture: String(metadata.get('general.architecture')!.value),
    bytes,
    tensor_types,
    fallbacks,
    chat_template: model.tokenizer.chat_template ?? null,
    eos_token: model.tokenizer.special_tokens.eos_token,
  };
}
