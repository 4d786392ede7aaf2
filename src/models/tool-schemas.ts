import { z } from 'zod';

/** The formats export_model writes. */
export const EXPORT_FORMATS = ['onnx', 'gguf', 'ollama', 'hf', 'vllm'] as const;

/** The fields of a base model record as tools return them (import_model, list_models, inspect_model). */
export const ModelRecordShape = {
  model_id: z.string().describe('Base model id to pass to generate, configure_training, …, e.g. "mdl_01jq3v9x2k…".'),
  name: z.string().describe('Display name, e.g. "stories260K" or "HuggingFaceTB/SmolLM2-135M".'),
  source: z.string().describe('Where it came from: a folder or .bin path, or a Hub repo id.'),
  source_kind: z.enum(['folder', 'llama2c', 'hub']).describe('folder (Hugging Face folder), llama2c (converted .bin) or hub.'),
  revision: z.string().nullable().describe('Hub commit imported, e.g. "a1b2c3…"; null for local sources.'),
  architecture: z.enum(['llama', 'gpt2', 'bert']).describe('Runtime architecture: llama (Llama, Mistral, Qwen2, SmolLM, TinyLlama), gpt2, or bert (BERT, RoBERTa, XLM-R encoders: embedding and classification only).'),
  model_type: z.string().describe('config.json model_type, e.g. "llama", "qwen2", "gpt2".'),
  parameters: z.number().int().describe('Number of weights, e.g. 260032.'),
  context_length: z.number().int().describe('Maximum positions (max_position_embeddings / n_positions), e.g. 512.'),
  sha256: z.string().describe('sha256 of the weight files, hex.'),
  dir: z.string().describe('Folder holding config.json, model.safetensors and the tokenizer files.'),
  created_at: z.string().describe('ISO 8601 time of import, e.g. "2026-11-22T01:02:03.000Z".'),
};

export function recordOutput(r: {
  id: string;
  name: string;
  source: string;
  source_kind: 'folder' | 'llama2c' | 'hub';
  revision: string | null;
  architecture: 'llama' | 'gpt2' | 'bert';
  model_type: string;
  parameters: number;
  context_length: number;
  sha256: string;
  dir: string;
  created_at: string;
}) {
  return {
    model_id: r.id,
    name: r.name,
    source: r.source,
    source_kind: r.source_kind,
    revision: r.revision,
    architecture: r.architecture,
    model_type: r.model_type,
    parameters: r.parameters,
    context_length: r.context_length,
    sha256: r.sha256,
    dir: r.dir,
    created_at: r.created_at,
  };
}

const RecordSchema = z.object(ModelRecordShape);

/**
 * Splits records into those the read tools can return and those they cannot (written before import
 * checked the files, e.g. 2^80 parameters), so one bad record no longer breaks list_models.
 */
export function readableRecords(records: readonly Parameters<typeof recordOutput>[0][]): {
  models: Array<ReturnType<typeof recordOutput>>;
  unreadable: Array<{ model_id: string; problem: string }>;
} {
  const models: Array<ReturnType<typeof recordOutput>> = [];
  const unreadable: Array<{ model_id: string; problem: string }> = [];
  for (const record of records) {
    const output = recordOutput(record);
    const checked = RecordSchema.safeParse(output);
    if (checked.success) models.push(output);
    else unreadable.push({ model_id: record.id, problem: checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
  }
  return { models, unreadable };
}
