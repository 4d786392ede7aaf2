import { z } from 'zod';
import { FLAG_CODES, GENERATION_KINDS, REVIEW_STATUSES } from './types.js';

/** Zod schemas the review tools share (tools/review-*.ts, export-review, import-review, commit-review). */

export const QueueIdSchema = z.string().regex(/^rq_[0-9a-z]+$/, 'a review queue id looks like rq_01jc…').describe('Review queue id from generate_dataset, e.g. "rq_01jcx3m9q2abcdefghij".');
export const ReviewStatusSchema = z.enum(REVIEW_STATUSES).describe('pending, approved or rejected.');
export const ReviewerSchema = z.string().trim().min(1).max(200).describe('Who decides, recorded in the review log, e.g. "jane@acme.example".');

const ReviewCountsSchema = z
  .object({
    pending: z.number().describe('Rows not decided yet, e.g. 12.'),
    approved: z.number().describe('Rows approved, e.g. 25.'),
    rejected: z.number().describe('Rows rejected, e.g. 3.'),
  })
  .describe('Rows of the queue by status.');

export const QueueSummarySchema = z
  .object({
    queue_id: QueueIdSchema,
    name: z.string().nullable().describe('Name given at generation, if any.'),
    kind: z.enum(GENERATION_KINDS).describe('What was generated: qa, instructions, triplets, paraphrase or preference_negatives.'),
    task_type: z.string().describe('Task type of its rows, e.g. "chat".'),
    status: z.enum(['open', 'committed']).describe('open, or committed once commit_review cut a version (more rows may still be decided and committed).'),
    counts: ReviewCountsSchema,
    generator: z.object({ provider: z.string().describe('Provider, e.g. "openai-compatible".'), model: z.string().describe('Model, e.g. "gpt-4o-mini".') }).describe('What wrote the rows.'),
    created_at: z.string().describe('ISO time.'),
  })
  .describe('A review queue.');

export const ReviewRowSchema = z
  .object({
    id: z.string().describe('Row id, "<queue_id>:<n>", e.g. "rq_01jc…:7".'),
    status: ReviewStatusSchema,
    row: z.record(z.string(), z.unknown()).describe('The row as it would enter a dataset (the edit when there is one), e.g. {"messages": [...]}.'),
    generated_row: z.record(z.string(), z.unknown()).optional().describe('The row as generated, when a reviewer edited it.'),
    provenance: z.record(z.string(), z.unknown()).describe('Source (file, chunk, heading path, character span, sha256; or seed dataset and line), generator, prompt template and version, time.'),
    flags: z
      .array(z.object({ code: z.enum(FLAG_CODES).describe('Why to look twice, e.g. "unsupported".'), message: z.string().describe('For the reviewer.'), score: z.number().optional().describe('Measured value.'), other: z.string().optional().describe('The other row, for duplicates and leakage.') }))
      .describe('Quality flags; a flag marks, never drops.'),
    reviewer: z.string().nullable().describe('Who decided or edited last.'),
    decided_at: z.string().nullable().describe('When, ISO time.'),
  })
  .describe('A generated row under review.');

export const DecisionCountsShape = {
  approved: z.number().describe('Rows approved by this call, e.g. 25.'),
  rejected: z.number().describe('Rows rejected by this call, e.g. 15.'),
  edited: z.number().describe('Rows edited by this call.'),
  unchanged: z.array(z.string()).describe('Ids that already had that decision or content: nothing recorded for them.'),
  counts: ReviewCountsSchema,
};
