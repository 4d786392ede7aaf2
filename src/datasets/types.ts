/** Canonical row shapes and the manifest of a dataset version (docs/CONVENTIONS.md "Dataset versions"). */
import type { Workspace } from '../workspace/workspace.js';

export const TASK_TYPES = ['chat', 'completion', 'preference', 'binary_feedback', 'classification', 'triplet', 'pair', 'scored_pair', 'text'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

/** The task types an embedding model trains and is evaluated on (retrieval: triplet, pair; similarity: scored_pair). */
export const EMBEDDING_TASK_TYPES: readonly string[] = ['triplet', 'pair', 'scored_pair'] satisfies TaskType[];

/** Source layouts prepare_dataset understands; each normalises to one task type. */
export const SOURCE_FORMATS = [
  'chat',
  'sharegpt',
  'instruction',
  'completion',
  'preference',
  'openai_dpo',
  'sharegpt_preference',
  'kto',
  'classification',
  'triplet',
  'pair',
  'scored_pair',
  'text',
] as const;
export type SourceFormat = (typeof SOURCE_FORMATS)[number];

export const FORMAT_TASK: Record<SourceFormat, TaskType> = {
  chat: 'chat',
  sharegpt: 'chat',
  instruction: 'chat',
  completion: 'completion',
  preference: 'preference',
  openai_dpo: 'preference',
  sharegpt_preference: 'preference',
  kto: 'binary_feedback',
  classification: 'classification',
  triplet: 'triplet',
  pair: 'pair',
  scored_pair: 'scored_pair',
  text: 'text',
};

export type Role = 'system' | 'user' | 'assistant' | 'tool';

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatMessage {
  role: Role;
  content: string;
  name?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  weight?: 0 | 1;
}

export interface ChatRow {
  messages: ChatMessage[];
  tools?: unknown[];
}
export interface CompletionRow {
  prompt: string;
  completion: string;
}
export interface PreferenceRow {
  prompt: ChatMessage[];
  chosen: ChatMessage[];
  rejected: ChatMessage[];
}
/** One answer judged good (label true) or bad (false) on its own: KTO's unpaired feedback. */
export interface BinaryFeedbackRow {
  prompt: ChatMessage[];
  completion: ChatMessage[];
  label: boolean;
}
export interface ClassificationRow {
  text: string;
  label: string;
}
export interface TripletRow {
  anchor: string;
  positive: string;
  negative: string;
}
/** A query and its relevant passage: the other rows' positives of a batch are its negatives (MultipleNegativesRanking). */
export interface PairRow {
  anchor: string;
  positive: string;
}
/** Two texts and how similar they are, a cosine-similarity target in [-1, 1] (STS scores scaled to [0, 1] fit). */
export interface ScoredPairRow {
  sentence1: string;
  sentence2: string;
  score: number;
}
export interface TextRow {
  text: string;
}
export type CanonicalRow = ChatRow | CompletionRow | PreferenceRow | BinaryFeedbackRow | ClassificationRow | TripletRow | PairRow | ScoredPairRow | TextRow;

export const SPLIT_NAMES = ['train', 'validation', 'test'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];

/** Count, total and spread of a column of numbers (tokens per example, per role, …). */
export interface Distribution {
  count: number;
  total: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  max: number;
}

export type TokenStats = {
  /** Encoding or tokenizer used, e.g. "o200k_base" or "tokenizer.json:/models/mdl_x". */
  tokenizer: string;
  /** Examples per token-count bin: counts[i] examples have edges[i] ≤ tokens < edges[i+1]; absent in versions made before it was kept. */
  histogram?: { edges: number[]; counts: number[] };
} & Omit<Distribution, 'count'>;

export interface LineageStep {
  /** What made this version: prepare, clean, split, or generate (commit_review: approved rows of a review queue). */
  operation: 'prepare' | 'clean' | 'split' | 'generate';
  dataset_id: string;
  parent_id: string | null;
  at: string;
  params: Record<string, unknown>;
}

export interface DatasetManifest {
  dataset_id: string;
  parent_id: string | null;
  task_type: TaskType;
  name?: string;
  source: { path: string; format: SourceFormat | 'canonical'; sha256: string };
  content_hash: string;
  counts: { rows: number; train?: number; validation?: number; test?: number };
  token_stats: TokenStats;
  splits?: { ratios: { train: number; validation: number; test: number }; seed: number; stratify_by?: string; group_by?: string };
  created_at: string;
  lineage: LineageStep[];
  /** Extra facts of the operation that made it (dropped rows, PII counts, leakage report). */
  report?: Record<string, unknown>;
  /** Governance records (PII redactions with legal basis and consent) of this version and every version it derives from. */
  governance?: GovernanceRecord[];
  /** Erasures (erase_subject) that removed rows from this version after it was written: its files and hash changed then. */
  erasures?: Array<{ erasure_id: string; request_reference: string; at: string; rows_removed: Record<string, number> }>;
}

export interface DatasetRecord {
  id: string;
  parent_id: string | null;
  task_type: TaskType;
  manifest: DatasetManifest;
  dir: string;
}

/**
 * What reading stored versions needs of the datasets service (export, governance), so those modules
 * take it without importing the service that calls them.
 */
export interface DatasetStore {
  readonly workspace: Workspace;
  get(id: string): DatasetRecord;
  rows(id: string, split?: SplitName, signal?: AbortSignal): AsyncIterable<{ line: number; row: CanonicalRow }>;
}

/**
 * A governance record of a dataset version: a PII redaction (who asked, the legal basis and the
 * consent reference given) or the human review of generated rows. A version carries the records of
 * every version it derives from (in its manifest, `governance`), so a split of a redacted or reviewed
 * version, the registry lineage of a model trained on it and that model's card all show them.
 */
export type GovernanceRecord = PiiRedactionRecord | GeneratedReviewRecord;

export interface PiiRedactionRecord extends RedactionFacts {
  kind: 'pii_redaction';
  /** The consent-log entry (cns_…). */
  consent_log_id: string;
  /** Kinds asked for (built-in and configured patterns), and values found by kind. */
  redacted_kinds: string[];
  custom_patterns: string[];
  found: Record<string, number>;
  at: string;
}

/**
 * Generated rows entered this version only after a person approved them (commit_review,
 * docs/data-generation.md): the queue, how its rows were decided and by whom.
 */
export interface GeneratedReviewRecord {
  kind: 'generated_review';
  /** The version commit_review made. */
  dataset_id: string;
  queue_id: string;
  /** Rows of the queue committed into this version (approved), and the queue's rejected rows then (left out). */
  approved: number;
  rejected: number;
  reviewers: string[];
  at: string;
}

/** What a redaction record and its consent-log row both say. */
export interface RedactionFacts {
  /** The version the redaction produced, and the one it read. */
  dataset_id: string;
  source_dataset_id: string;
  actor: string;
  legal_basis: string;
  consent_reference: string | null;
  purpose: string | null;
  findings: number;
  rows_affected: number;
}

