import { z } from 'zod';
import { ConsentEntrySchema, DatasetIdSchema, ManifestSchema, SplitSchema } from '../src/datasets/schemas.js';
import { defineTool } from '../src/server/tool.js';

export const inspectDatasetTool = defineTool({
  name: 'inspect_dataset',
  title: 'Inspect a dataset version',
  description:
    'Shows a dataset version: its manifest (task type, source, counts, token statistics, hashes, splits, lineage, the report of the ' +
    'operation that made it) and a page of its rows (offset, limit) from rows.jsonl or one split. Read-only. ' +
    'Use it to look at examples before training; then split_dataset or configure_training.',
  input: {
    dataset_id: DatasetIdSchema,
    split: SplitSchema.optional(),
    offset: z.number().int().min(0).default(0).describe('Rows to skip, e.g. 0.'),
    limit: z.number().int().min(0).max(100).default(5).describe('Rows to return (0–100), e.g. 5.'),
  },
  output: {
    dataset_id: DatasetIdSchema,
    manifest: ManifestSchema,
    rows: z.array(z.object({ line: z.number().describe('Line in the JSONL file, e.g. 1.'), row: z.record(z.string(), z.unknown()).describe('The canonical row.') })).describe('The page of rows.'),
    next_offset: z.number().nullable().describe('Offset of the next page; null at the end.'),
    consent_log: z
      .array(ConsentEntrySchema)
      .describe('PII redaction runs that produced this version or a version it derives from, or that read it (the governance record).'),
  },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async handler(args, { services, signal }) {
    const { consentLog } = await import('../src/datasets/clean.js');
    const record = services.datasets.get(args.dataset_id);
    const page = await services.datasets.page(args.dataset_id, args.split, args.offset, args.limit, signal);
    return {
      dataset_id: record.id,
      manifest: record.manifest as unknown as z.infer<typeof ManifestSchema>,
      rows: page.rows,
      next_offset: page.next_offset,
      consent_log: consentLog(services.datasets, record.id),
    };
  },
  summarize: (o) =>
    `${o.dataset_id}: ${o.manifest.counts.rows} ${o.manifest.task_type} rows` +
    `${o.manifest.counts.train !== undefined ? ` (train ${o.manifest.counts.train}, validation ${o.manifest.counts.validation}, test ${o.manifest.counts.test})` : ''}; ` +
    `showing ${o.rows.length} from line ${o.rows[0]?.line ?? '-'}.`,
});
