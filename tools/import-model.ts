import { z } from 'zod';
import { ModelRecordShape, recordOutput } from '../src/models/tool-schemas.js';
import { defineTool } from '../src/server/tool.js';

export const importModelTool = defineTool({
  name: 'import_model',
  title: 'Import a base model',
  description:
    'Adds a base model to the workspace from a local Hugging Face folder (config.json + safetensors + tokenizer.json), ' +
    'a llama2.c checkpoint .bin (pass its tokenizer.bin as `tokenizer`; it is converted to a Hugging Face folder), or a ' +
    'Hugging Face Hub repo id (downloaded with HF_TOKEN when set, cached, resumable, checksummed). Importing the same ' +
    'files again returns the same model_id (created=false). Returns the model record; next call inspect_model, generate ' +
    'or configure_training with the model_id.',
  input: {
    source: z
      .string()
      .min(1)
      .describe('A model folder path, a llama2.c .bin path, or a Hub repo id, e.g. "./models/smollm", "assets/models/stories260K/stories260K.bin", "HuggingFaceTB/SmolLM2-135M".'),
    tokenizer: z.string().optional().describe('llama2.c only: path of the tokenizer .bin exported with the checkpoint, e.g. "assets/models/stories260K/tok512.bin".'),
    name: z.string().min(1).max(200).optional().describe('Display name; default the folder, file or repo name, e.g. "stories260K".'),
    revision: z.string().optional().describe('Hub only: branch, tag or commit to import, e.g. "main" (default) or "v1.0".'),
  },
  output: {
    ...ModelRecordShape,
    created: z.boolean().describe('false when the same model was already imported (the existing record is returned).'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handler(args, { services, signal, progress }) {
    const { model, created } = await services.models.import(args.source, {
      tokenizer: args.tokenizer,
      name: args.name,
      revision: args.revision,
      signal,
      progress: (done, total, message) => progress(done, total, message),
    });
    return { ...recordOutput(model), created };
  },
  summarize: (o) =>
    `${o.created ? 'Imported' : 'Already imported:'} ${o.model_id} (${o.name}): ${o.model_type}, ${o.parameters.toLocaleString('en-US')} parameters, ` +
    `context ${o.context_length}. Next: ${o.architecture === 'bert' ? `an encoder: configure_training (method "embedding" or "classification") with model_id ${o.model_id}` : `inspect_model or generate with model_id ${o.model_id}`}.`,
});
