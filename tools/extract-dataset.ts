import { z } from 'zod';
import { DatasetIdSchema, TaskTypeSchema } from '../src/datasets/schemas.js';
import { defineTool } from '../src/server/tool.js';

export const extractDatasetTool = defineTool({
  name: 'extract_dataset',
  title: 'Extract a dataset from telemetry',
  description:
    'Builds a dataset version from production telemetry through a data-source plugin: e.g. source "phoenix" turns Arize Phoenix / ' +
    'OpenInference LLM spans (optionally only those whose feedback annotation passes) into chat examples. Returns the new dataset_id ' +
    'and every span it skipped with the reason. Next: validate_dataset, clean_dataset (redact_pii), split_dataset.',
  input: {
    source: z.string().min(1).default('phoenix').describe('Data-source plugin from server_info, e.g. "phoenix".'),
    query: z
      .record(z.string(), z.unknown())
      .describe('The plugin\'s query. Phoenix: {"project": "support-bot", "start_time": "2026-11-01T00:00:00Z", "annotation_name": "correctness", "labels": ["correct"], "min_score": 0.5, "limit": 1000, "include_errors": false}.'),
    name: z.string().max(200).optional().describe('Human name for the dataset version, e.g. "support-bot-nov".'),
  },
  output: {
    dataset_id: DatasetIdSchema,
    task_type: TaskTypeSchema,
    examples: z.number().describe('Examples extracted, e.g. 812.'),
    skipped_count: z.number().describe('Records the source could not use, e.g. 14.'),
    skipped: z.array(z.object({ ref: z.string().describe('Source record, e.g. a span id.'), reason: z.string().describe('Why it was skipped.') })).describe('First 100 skipped records.'),
    source_file: z.string().describe('The extracted JSONL the version was prepared from.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handler(args, { services, signal, progress }) {
    const { extractDataset } = await import('../src/datasets/extract.js');
    const { prepared, rows, skipped, file } = await extractDataset(services, args, { signal, progress: (done, total, message) => void progress(done, total || undefined, message) });
    return {
      dataset_id: prepared.record.id,
      task_type: prepared.record.task_type,
      examples: rows,
      skipped_count: skipped.length,
      skipped: skipped.slice(0, 100),
      source_file: file,
    };
  },
  summarize: (o) => `Extracted ${o.examples} examples into ${o.dataset_id} (${o.task_type}); skipped ${o.skipped_count}.`,
});
