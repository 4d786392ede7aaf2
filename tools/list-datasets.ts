import { z } from 'zod';
import { CountsSchema, DatasetIdSchema, TaskTypeSchema } from '../src/datasets/schemas.js';
import { defineTool } from '../src/server/tool.js';

export const listDatasetsTool = defineTool({
  name: 'list_datasets',
  title: 'List dataset versions',
  description:
    'Lists dataset versions in the workspace, newest first, with task type, counts, parent (lineage) and source. ' +
    'Filter by task_type or parent_id (the versions cleaned or split from one). Next: inspect_dataset {dataset_id}.',
  input: {
    task_type: TaskTypeSchema.optional(),
    parent_id: DatasetIdSchema.optional(),
    limit: z.number().int().min(1).max(200).default(50).describe('Versions per page, e.g. 50.'),
    offset: z.number().int().min(0).default(0).describe('Versions to skip, e.g. 0.'),
  },
  output: {
    total: z.number().describe('Versions matching the filter, e.g. 3.'),
    datasets: z
      .array(
        z.object({
          dataset_id: DatasetIdSchema,
          parent_id: z.string().nullable().describe('Version it was made from; null for an import.'),
          name: z.string().nullable().describe('Human name, if given.'),
          task_type: TaskTypeSchema,
          operation: z.string().describe('What made it: prepare, clean, split, or generate (commit_review of a review queue).'),
          counts: CountsSchema,
          source_path: z.string().describe('Imported file or folder.'),
          content_hash: z.string().describe('sha256 of the rows.'),
          created_at: z.string().describe('ISO time.'),
        }),
      )
      .describe('The page of versions.'),
  },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async handler(args, { services }) {
    const { total, datasets } = services.datasets.list({ task_type: args.task_type, parent_id: args.parent_id, limit: args.limit, offset: args.offset });
    return {
      total,
      datasets: datasets.map((d) => ({
        dataset_id: d.id,
        parent_id: d.parent_id,
        name: d.manifest.name ?? null,
        task_type: d.task_type,
        operation: d.manifest.lineage[d.manifest.lineage.length - 1]?.operation ?? 'prepare',
        counts: d.manifest.counts,
        source_path: d.manifest.source.path,
        content_hash: d.manifest.content_hash,
        created_at: d.manifest.created_at,
      })),
    };
  },
  summarize: (o) => `${o.total} dataset version(s): ${o.datasets.map((d) => `${d.dataset_id} (${d.task_type}, ${d.counts.rows} rows, ${d.operation})`).join('; ') || 'none'}.`,
});
