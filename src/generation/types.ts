/**
 * Data generation under human review (docs/data-generation.md): the shapes that pass between the
 * document reader, the generator, the quality filters and the review queue.
 */
import type { CanonicalRow, TaskType } from '../datasets/types.js';

export const GENERATION_KINDS = ['qa', 'instructions', 'triplets', 'paraphrase', 'preference_negatives'] as const;
export type GenerationKind = (typeof GENERATION_KINDS)[number];

/** The task type of the rows each kind writes; paraphrase keeps its seed's (chat or completion). */
export const KIND_TASK: Record<Exclude<GenerationKind, 'paraphrase'>, TaskType> = {
  qa: 'chat',
  instructions: 'chat',
  triplets: 'triplet',
  preference_negatives: 'preference',
};

/** A piece of a document, cut on headings and a token budget. */
export interface DocumentChunk {
  /** The document as the caller named it, resolved (absolute path). */
  file: string;
  /** 0-based position of the chunk in its document. */
  index: number;
  /** Headings above the chunk, outermost first, e.g. ["Refunds", "Digital goods"]. */
  heading_path: string[];
  text: string;
  /** Character offsets [start, end) of `text` in the document's extracted text (`DocumentText.text`). */
  span: [number, number];
  /** Tokens of `text` by the counter the chunker was given. */
  tokens: number;
}

/** Where a generated row came from: enough to find the passage again and to reproduce the request. */
export interface RowProvenance {
  source:
    | { type: 'document'; file: string; chunk: number; heading_path: string[]; span: [number, number]; sha256: string }
    | { type: 'seed'; dataset_id: string; line: number };
  generator: { provider: string; model: string };
  /** The prompt that produced it: its id (the kind) and version; a changed prompt text is a new version. */
  prompt_template: { id: GenerationKind; version: number };
  generated_at: string;
}

export const FLAG_CODES = ['unsupported', 'unfaithful', 'duplicate', 'near_duplicate', 'too_short', 'too_long', 'pii', 'eval_leakage'] as const;
export type FlagCode = (typeof FLAG_CODES)[number];

/** Why a reviewer should look twice at a row. Flags mark; they never drop a row. */
export interface RowFlag {
  code: FlagCode;
  /** For the reviewer, e.g. "answer shares 12% of its words with its chunk (min 30%)". */
  message: string;
  /** The measured value behind the flag (overlap, similarity, tokens), when there is one. */
  score?: number;
  /** The other row (review row id or `<dataset_id>:<line>`) for duplicates and leakage. */
  other?: string;
}

/** A row as the generator made it, before review. */
export interface CandidateRow {
  row: CanonicalRow;
  provenance: RowProvenance;
  /** The passage the row must be supported by (document kinds); the seed's text for seed kinds. */
  context: string;
}

export const REVIEW_STATUSES = ['pending', 'approved', 'rejected'] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];

/** One row of a review queue as review tools show it. */
export interface ReviewRow {
  /** `<queue_id>:<n>`, n from 1 in generation order: stable, and readable in a spreadsheet. */
  id: string;
  queue_id: string;
  position: number;
  status: ReviewStatus;
  /** The row as it will enter a dataset: the reviewer's edit when there is one, else as generated. */
  row: CanonicalRow;
  /** The row as generated, when a reviewer edited it. */
  generated_row?: CanonicalRow;
  provenance: RowProvenance;
  flags: RowFlag[];
  reviewer: string | null;
  decided_at: string | null;
}

export interface ReviewQueueRecord {
  id: string;
  name: string | null;
  kind: GenerationKind;
  task_type: TaskType;
  /** What the rows were made from: `{documents: [paths]}` or `{seed_dataset_id}`. */
  source: { documents: string[] } | { seed_dataset_id: string };
  generator: { provider: string; model: string };
  /** The request's other fields: count, language, guidance, chunk_tokens, eval_dataset_id. */
  params: Record<string, unknown>;
  /** open: rows may be decided; committed: a dataset version was cut (more rows may still be decided and committed again). */
  status: 'open' | 'committed';
  counts: Record<ReviewStatus, number>;
  /** What generation reported: requested, generated, failed (with reasons), tokens, cost. */
  report: Record<string, unknown>;
  created_at: string;
}
