import { z } from 'zod';

/** Which annotations count as approval or rejection (src/datasets/telemetry/feedback.ts; docs/datasets.md, "Extract from telemetry"). */
export const FeedbackSchema = z
  .object({
    annotation_name: z.string().min(1).optional().describe('Only annotations of this name judge an answer, e.g. "correctness"; default any name.'),
    labels: z.array(z.string()).optional().describe('Labels that approve, e.g. ["correct"]; with annotation_name, any other label rejects. Default: correct, good, approved, accepted, positive, thumbs_up, helpful, pass, yes, relevant, factual.'),
    reject_labels: z.array(z.string()).optional().describe('Labels that reject, e.g. ["incorrect"]. Default: incorrect, bad, rejected, negative, thumbs_down, unhelpful, fail, no, wrong, irrelevant, unrelated, hallucinated.'),
    min_score: z.number().optional().describe('A score at least this approves, below it rejects, e.g. 0.8 (scores are ignored unless set; document relevance uses 0.5 when unset).'),
    annotator_kinds: z.array(z.enum(['HUMAN', 'LLM', 'CODE'])).optional().describe('Only annotations from these annotators count, e.g. ["HUMAN"]; default all. Where several kinds judged one span, HUMAN wins over CODE over LLM.'),
    include_unjudged: z.boolean().optional().describe('SFT: keep answers nobody judged (default true unless annotation_name, labels or min_score is given).'),
    correction_name: z.string().min(1).default('correction').describe('Annotation name of a human correction: its explanation (or metadata.correction) is the corrected answer, e.g. "correction".'),
    relevance_name: z.string().min(1).optional().describe('Triplets: only document annotations of this name count, e.g. "relevance"; default any name.'),
    positive_min_score: z.number().optional().describe('Triplets: a document whose own score (document.score) is at least this is a positive when no annotation judged it, e.g. 0.8.'),
    negative_max_score: z.number().optional().describe('Triplets: a document whose own score is at most this is a negative when no annotation judged it, e.g. 0.2.'),
  })
  .strict();
export type Feedback = z.infer<typeof FeedbackSchema>;

export const EXTRACT_KINDS = ['auto', 'sft', 'dpo', 'triplets'] as const;
export type ExtractKind = (typeof EXTRACT_KINDS)[number];
