import { z } from 'zod';
import { EXPORT_FORMATS } from '../src/datasets/export.js';
import { DatasetIdSchema, SplitSchema } from '../src/datasets/schemas.js';
import { defineTool } from '../src/server/tool.js';
import { checkExportTarget } from '../src/workspace/export-target.js';

export const exportDatasetTool = defineTool({
  name: 'export_dataset',
  title: 'Export a dataset version',
  description:
    'Writes a dataset version, or one split of it, to a file under the allowed roots in a chosen format: openai_chat (OpenAI chat fine-tuning JSONL), ' +
    'openai_dpo (OpenAI preference JSONL), jsonl (canonical rows), alpaca (JSON array of instruction/input/output), sharegpt (conversations from/value), ' +
    'trl_preference (TRL prompt/chosen/rejected JSONL), csv (classification, completion, triplet, text). The file appears whole or not at all. ' +
    'Use it to hand data to another tool or a provider; training tools read versions directly.',
  input: {
    dataset_id: DatasetIdSchema,
    path: z.string().min(1).describe('File to write, under the allowed roots, e.g. "exports/train.openai.jsonl".'),
    format: z.enum(EXPORT_FORMATS).describe('Output format, e.g. "openai_chat".'),
    split: SplitSchema.optional(),
    overwrite: z.boolean().default(false).describe('Replace an existing file. Default false.'),
  },
  output: {
    path: z.string().describe('Absolute path written, e.g. "/home/me/exports/train.openai.jsonl".'),
    format: z.enum(EXPORT_FORMATS).describe('Format written.'),
    rows: z.number().describe('Rows written, e.g. 800.'),
    bytes: z.number().describe('File size in bytes.'),
    sha256: z.string().describe('sha256 of the file.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, { services, signal }) {
    const path = services.workspace.resolveUserPath(args.path);
    checkExportTarget(args.path, path, args.overwrite, `${args.dataset_id}.${args.format === 'csv' ? 'csv' : args.format === 'alpaca' ? 'json' : 'jsonl'}`);
    return services.datasets.exportDataset(args.dataset_id, { format: args.format, split: args.split, path }, signal);
  },
  summarize: (o) => `Wrote ${o.rows} rows as ${o.format} to ${o.path} (${o.bytes} bytes).`,
});
