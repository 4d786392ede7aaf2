import { z } from 'zod';
import { QueueIdSchema, QueueSummarySchema, ReviewRowSchema, ReviewStatusSchema } from '../src/generation/schemas.js';
import { defineTool } from '../src/server/tool.js';

export const reviewQueueTool = defineTool({
  name: 'review_queue',
  title: 'Read a review queue of generated rows',
  description:
    'Pages the rows of a review queue (rq_…, made by generate_dataset) with their provenance (source file, chunk, character span; generator, prompt version) ' +
    'and quality flags (unsupported, duplicate, pii, eval_leakage, …), and the queue\'s counts by status. Without queue_id it lists the queues. ' +
    'Generated rows train nothing until approved. Next: review_examples to approve, reject or edit rows (or export_review for a spreadsheet), then commit_review.',
  input: {
    queue_id: QueueIdSchema.optional().describe('The queue to read, e.g. "rq_01jcx…"; leave out to list queues.'),
    status: ReviewStatusSchema.optional().describe('Only rows of this status, e.g. "pending". Default all.'),
    offset: z.number().int().min(0).default(0).describe('Rows to skip, e.g. 0.'),
    limit: z.number().int().min(1).max(100).default(20).describe('Rows per page, e.g. 20.'),
  },
  output: {
    queues: z.array(QueueSummarySchema).describe('Queues, newest first (the one asked for, or all).'),
    rows: z.array(ReviewRowSchema).describe('The page of rows, in generation order ([] when listing queues).'),
    total: z.number().describe('Rows matching the status filter in the queue, e.g. 40 (queues when listing).'),
    next_offset: z.number().nullable().describe('Offset of the next page, null at the end.'),
  },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async handler(args, { services }) {
    const { ReviewQueueStore } = await import('../src/generation/queue-store.js');
    const store = new ReviewQueueStore(services.workspace);
    const summary = (q: ReturnType<typeof store.get>) => ({ queue_id: q.id, name: q.name, kind: q.kind, task_type: q.task_type, status: q.status, counts: q.counts, generator: q.generator, created_at: q.created_at });
    if (!args.queue_id) {
      const queues = store.list();
      return { queues: queues.map(summary), rows: [], total: queues.length, next_offset: null };
    }
    const queue = store.get(args.queue_id);
    const total = args.status ? queue.counts[args.status] : queue.counts.pending + queue.counts.approved + queue.counts.rejected;
    const rows = store.rows(queue.id, { status: args.status, offset: args.offset, limit: args.limit });
    return {
      queues: [summary(queue)],
      rows: rows.map((r) => ({ ...r, row: r.row as unknown as Record<string, unknown>, generated_row: r.generated_row as unknown as Record<string, unknown> | undefined, provenance: r.provenance as unknown as Record<string, unknown> })),
      total,
      next_offset: args.offset + rows.length < total ? args.offset + rows.length : null,
    };
  },
  summarize: (o) =>
    o.rows.length || o.queues.length === 1
      ? `${o.queues[0].queue_id}: ${o.queues[0].counts.pending} pending, ${o.queues[0].counts.approved} approved, ${o.queues[0].counts.rejected} rejected; showing ${o.rows.length} of ${o.total}${o.next_offset !== null ? ` (next offset ${o.next_offset})` : ''}.`
      : `${o.queues.length} review queue(s): ${o.queues.map((q) => `${q.queue_id} (${q.kind}, ${q.counts.pending} pending, ${q.counts.approved} approved)`).join('; ') || 'none'}.`,
});
