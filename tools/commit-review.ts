import { z } from 'zod';
import { CountsSchema, DatasetIdSchema, TokenStatsSchema } from '../src/datasets/schemas.js';
import { QueueIdSchema } from '../src/generation/schemas.js';
import { defineTool } from '../src/server/tool.js';

export const commitReviewTool = defineTool({
  name: 'commit_review',
  title: 'Make a dataset version of approved generated rows',
  description:
    'Creates a dataset version from the approved rows of a review queue (edits applied) that no earlier commit took; rejected and pending rows never enter it. ' +
    'With parent_dataset_id (same task type, not split) the rows are appended to that version\'s rows. The version\'s lineage names the queue, its manifest ' +
    'carries a generated_review governance record (approved, rejected, reviewers) that follows every version derived from it, and provenance.jsonl in its ' +
    'folder gives each generated line\'s source and reviewer. Refused when nothing approved is left to commit. Next: split_dataset, then configure_training.',
  input: {
    queue_id: QueueIdSchema,
    name: z.string().min(1).max(200).optional().describe('Human name of the version, e.g. "handbook-qa-v1". Default the parent\'s or the queue\'s.'),
    parent_dataset_id: DatasetIdSchema.optional().describe('Append to this version of the same task type, e.g. "ds_01jc…" (a version commit_review made, or any prepared one).'),
  },
  output: {
    dataset_id: DatasetIdSchema.describe('The new version, e.g. "ds_01jcx…".'),
    queue_id: QueueIdSchema,
    parent_id: z.string().nullable().describe('The parent version, or null.'),
    committed: z.number().describe('Approved rows of the queue in this version, e.g. 25.'),
    parent_rows: z.number().describe('Rows taken from the parent, e.g. 0.'),
    edited: z.number().describe('Committed rows a reviewer edited.'),
    previously_committed: z.number().describe('Rows of the queue in earlier versions (not repeated), e.g. 0.'),
    rejected_left_out: z.number().describe('Rejected rows of the queue, never committed.'),
    pending_left_out: z.number().describe('Pending rows of the queue, not committed.'),
    reviewers: z.array(z.string()).describe('Who approved the committed rows.'),
    counts: CountsSchema,
    token_stats: TokenStatsSchema,
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(args, { services }) {
    const { commitReview } = await import('../src/generation/review.js');
    const result = await commitReview(services.datasets, { queue_id: args.queue_id, name: args.name, parent_dataset_id: args.parent_dataset_id, via: 'tool' });
    return {
      dataset_id: result.record.id,
      queue_id: args.queue_id,
      parent_id: result.record.parent_id,
      committed: result.committed,
      parent_rows: result.parent_rows,
      edited: result.edited,
      previously_committed: result.previously_committed,
      rejected_left_out: result.governance.rejected,
      pending_left_out: result.pending,
      reviewers: result.governance.reviewers,
      counts: result.record.manifest.counts,
      token_stats: result.record.manifest.token_stats,
    };
  },
  summarize: (o) =>
    `Committed ${o.committed} approved row(s) of ${o.queue_id} into ${o.dataset_id}${o.parent_id ? ` after ${o.parent_rows} rows of ${o.parent_id}` : ''} (${o.counts.rows} rows; ` +
    `${o.rejected_left_out} rejected and ${o.pending_left_out} pending left out). Next: split_dataset, then configure_training.`,
});
