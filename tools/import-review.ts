import { z } from 'zod';
import { DecisionCountsShape, QueueIdSchema, ReviewerSchema } from '../src/generation/schemas.js';
import { defineTool } from '../src/server/tool.js';

export const importReviewTool = defineTool({
  name: 'import_review',
  title: 'Import review decisions from a filled file',
  description:
    'Reads a review file that export_review wrote and people filled (CSV from a spreadsheet, or JSONL): the decision column (approve, reject or blank) ' +
    'and any edited text columns (or row_json / row) of each row. Everything is checked first (ids of the queue, decisions, edited rows against the row schema) ' +
    'and every problem is reported as file:line:column; with any problem nothing is recorded, otherwise all decisions are recorded together in the review log ' +
    'under the reviewer. Next: commit_review.',
  input: {
    queue_id: QueueIdSchema,
    path: z.string().min(1).describe('The filled file, under the allowed roots, e.g. "review/rq_batch1.csv".'),
    reviewer: ReviewerSchema,
  },
  output: {
    path: z.string().describe('Absolute path read.'),
    lines: z.number().describe('Rows read from the file, e.g. 40.'),
    ...DecisionCountsShape,
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, { services }) {
    const path = services.workspace.resolveUserPath(args.path);
    const { importReview } = await import('../src/generation/review-sheet.js');
    return importReview(services.workspace, { queue_id: args.queue_id, path, reviewer: args.reviewer });
  },
  summarize: (o) =>
    `Read ${o.lines} row(s) from ${o.path}: ${o.approved} approved, ${o.rejected} rejected, ${o.edited} edited${o.unchanged.length ? `, ${o.unchanged.length} unchanged` : ''}; ` +
    `now ${o.counts.pending} pending, ${o.counts.approved} approved, ${o.counts.rejected} rejected.${o.counts.approved ? ' Next: commit_review.' : ''}`,
});
