import { z } from 'zod';
import { DecisionCountsShape, QueueIdSchema, ReviewerSchema } from '../src/generation/schemas.js';
import { defineTool } from '../src/server/tool.js';

const IdsSchema = z.array(z.string().min(1)).max(1000);

export const reviewExamplesTool = defineTool({
  name: 'review_examples',
  title: 'Approve, reject or edit generated rows',
  description:
    'Records a person\'s decisions on rows of a review queue: approve and reject take row ids ("rq_…:7"), edits replace a row\'s content ' +
    '(checked against the task type\'s row schema). All of one call is recorded together or not at all, in the review log with the reviewer and time. ' +
    'Unknown ids, an id both approved and rejected, an invalid edit or a change to a row already committed into a version are refused. ' +
    'With interactive=true and no ids, a client that supports MCP elicitation asks the user about up to 5 pending rows in a form. ' +
    'Approve only what a person checked; this tool records their decision. Next: commit_review.',
  input: {
    queue_id: QueueIdSchema,
    approve: IdsSchema.optional().describe('Row ids to approve, e.g. ["rq_01jc…:1", "rq_01jc…:2"].'),
    reject: IdsSchema.optional().describe('Row ids to reject, e.g. ["rq_01jc…:3"].'),
    edits: z
      .array(z.object({ id: z.string().min(1).describe('Row id, e.g. "rq_01jc…:4".'), row: z.record(z.string(), z.unknown()).describe('The whole new row in the queue\'s task type, e.g. {"messages": [{"role": "user", "content": "…"}, {"role": "assistant", "content": "…"}]}.') }))
      .max(1000)
      .optional()
      .describe('New content for rows (their status stays unless approve/reject names them too).'),
    reviewer: ReviewerSchema,
    interactive: z.boolean().default(false).describe('Ask the user in a form (MCP elicitation) about up to 5 pending rows instead of passing ids. Default false.'),
  },
  output: {
    queue_id: QueueIdSchema,
    ...DecisionCountsShape,
    via: z.enum(['tool', 'elicitation']).describe('How the decisions were taken.'),
    asked: z.array(z.string()).optional().describe('Interactive: the rows put to the user.'),
    skipped: z.array(z.string()).optional().describe('Interactive: rows the user left undecided.'),
    user_action: z.enum(['accept', 'decline', 'cancel', 'none']).optional().describe('Interactive: what the user did with the form ("none": no pending row).'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, ctx) {
    const { services } = ctx;
    const { ReviewQueueStore } = await import('../src/generation/queue-store.js');
    const store = new ReviewQueueStore(services.workspace);
    const none = !args.approve?.length && !args.reject?.length && !args.edits?.length;
    if (args.interactive && none) {
      const { reviewInline } = await import('../src/generation/review-inline.js');
      const inline = await reviewInline(services.workspace, ctx.elicit, { queue_id: args.queue_id, reviewer: args.reviewer });
      const counts = inline.outcome?.counts ?? store.get(args.queue_id).counts;
      const o = inline.outcome;
      return { queue_id: args.queue_id, approved: o?.approved ?? 0, rejected: o?.rejected ?? 0, edited: 0, unchanged: o?.unchanged ?? [], counts, via: 'elicitation' as const, asked: inline.asked, skipped: inline.skipped, user_action: inline.user_action };
    }
    const outcome = await store.decide(args.queue_id, { approve: args.approve, reject: args.reject, edits: args.edits, reviewer: args.reviewer, via: 'tool' });
    return { queue_id: args.queue_id, ...outcome, via: 'tool' as const };
  },
  summarize: (o) =>
    `${o.queue_id}: ${o.approved} approved, ${o.rejected} rejected, ${o.edited} edited${o.unchanged.length ? `, ${o.unchanged.length} unchanged` : ''}${o.user_action ? ` (form: ${o.user_action})` : ''}; ` +
    `now ${o.counts.pending} pending, ${o.counts.approved} approved, ${o.counts.rejected} rejected.${o.counts.approved ? ' Next: commit_review.' : ''}`,
});
