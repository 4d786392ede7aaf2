import { z } from 'zod';
import { CountsSchema, DatasetIdSchema, FormatSchema, ModelSpecSchema, TaskTypeSchema, TokenStatsSchema, ValidationSummarySchema } from '../src/datasets/schemas.js';
import { defineTool } from '../src/server/tool.js';

export const prepareDatasetTool = defineTool({
  name: 'prepare_dataset',
  title: 'Import a dataset',
  description:
    'Imports a local file (JSONL, JSON array, CSV/TSV, plain .txt) or a folder of them as an immutable, content-hashed dataset version: ' +
    'detects the layout (OpenAI chat, ShareGPT, Alpaca instruction, prompt/completion, DPO preference in OpenAI/TRL/ShareGPT form, ' +
    'text/label classification, embedding triplets, pairs and scored pairs, plain text) or takes `format`, converts it to the canonical rows of its task type ' +
    '(instruction and ShareGPT become chat; with chat_template, chat becomes prompt/completion rendered by the model\'s template), and records counts, token statistics, hashes and lineage. ' +
    'Returns dataset_id. Next: validate_dataset {dataset_id} for content problems, clean_dataset, split_dataset.',
  input: {
    path: z.string().min(1).describe('File or folder to import, under the allowed roots, e.g. "data/train.jsonl".'),
    format: FormatSchema.optional(),
    name: z.string().max(200).optional().describe('Human name for the version, e.g. "support-chats-2026-11".'),
    model: ModelSpecSchema.optional(),
    chat_template: z
      .string()
      .min(1)
      .optional()
      .describe('Render chat rows with a chat template into prompt/completion rows: a Jinja template, or a model id (mdl_…) or folder whose tokenizer_config.json has chat_template, e.g. "models/tinyllama".'),
    text_separator: z.string().optional().describe('.txt: what ends a document, e.g. "<|endoftext|>", "\\n" (one a line); default blank lines.'),
    on_invalid: z
      .enum(['fail', 'skip'])
      .default('fail')
      .describe('What to do with records that cannot be read as examples: "fail" (default) refuses the import; "skip" leaves them out and lists them.'),
  },
  output: {
    dataset_id: DatasetIdSchema,
    task_type: TaskTypeSchema,
    format: FormatSchema,
    counts: CountsSchema,
    token_stats: TokenStatsSchema,
    content_hash: z.string().describe('sha256 of rows.jsonl, e.g. "5be1…".'),
    source_sha256: z.string().describe('sha256 of the source bytes.'),
    skipped_count: z.number().describe('Records left out (on_invalid="skip"), e.g. 0.'),
    skipped: z
      .array(z.object({ line: z.number().describe('Source line, e.g. 7.'), code: z.string().describe('Why, e.g. "invalid_json".'), message: z.string().describe('Details.') }))
      .describe('Records left out (first 100), never silently.'),
    validation: ValidationSummarySchema,
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(args, { services, signal, progress }) {
    const path = services.workspace.resolveUserPath(args.path);
    const result = await services.datasets.prepare(
      { path, format: args.format, name: args.name, model: args.model, on_invalid: args.on_invalid, chat_template: args.chat_template, text_separator: args.text_separator },
      { signal, progress: (done, total, message) => void progress(done, total, message) },
    );
    const m = result.record.manifest;
    return {
      dataset_id: m.dataset_id,
      task_type: m.task_type,
      format: result.validation.format!,
      counts: m.counts,
      token_stats: m.token_stats,
      content_hash: m.content_hash,
      source_sha256: m.source.sha256,
      skipped_count: result.skipped_count,
      skipped: result.skipped,
      validation: result.validation,
    };
  },
  summarize: (o) =>
    `Prepared ${o.dataset_id}: ${o.counts.rows} ${o.task_type} rows from ${o.format}` +
    `${o.skipped_count ? `, ${o.skipped_count} skipped` : ''}; ${o.validation.errors} errors, ${o.validation.warnings} warnings; ` +
    `tokens mean ${o.token_stats.mean}, max ${o.token_stats.max} (${o.token_stats.tokenizer}).`,
});
