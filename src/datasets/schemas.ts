import { z } from 'zod';
import { SOURCE_FORMATS, SPLIT_NAMES, TASK_TYPES } from './types.js';

/** zod shapes shared by the dataset tools (inputs and outputs), each field described for the model. */

export const DatasetIdSchema = z.string().regex(/^ds_[0-9a-z]+$/, 'a dataset id looks like ds_01jc…').describe('Dataset version id, e.g. "ds_01jcx3m9q2abcdefghij".');
export const SplitSchema = z.enum(SPLIT_NAMES).describe('One split of a split version: train, validation or test.');
export const FormatSchema = z
  .enum(SOURCE_FORMATS)
  .describe(
    'Source layout, detected when omitted: chat (messages), sharegpt (conversations), instruction (Alpaca), completion, ' +
      'preference (prompt/chosen/rejected), openai_dpo (input/preferred_output/non_preferred_output), sharegpt_preference, kto (a true/false label), ' +
      'classification (text/label), triplet (anchor/positive/negative), pair (anchor/positive), scored_pair (sentence1/sentence2/score), text.',
  );
export const TaskTypeSchema = z.enum(TASK_TYPES).describe('Canonical task type; binary_feedback is KTO (one answer labelled good or bad).');
export const ModelSpecSchema = z
  .string()
  .min(1)
  .describe('Target whose tokenizer counts tokens: an OpenAI model ("gpt-4o-mini", "gpt-4.1"), an encoding ("o200k_base"), a model id ("mdl_…") or a folder with tokenizer.json.');

export const IssueSchema = z.object({
  line: z.number().int().describe('1-based line of the source file (0 for whole-dataset findings), e.g. 12.'),
  file: z.string().optional().describe('File of the line when the source is a folder.'),
  severity: z.enum(['error', 'warning']).describe('error: the example is unusable as is; warning: worth a look.'),
  code: z.string().describe('Stable code, e.g. "missing_content", "duplicate_exact", "over_token_limit".'),
  field: z.string().describe('JSON path of the field, e.g. "messages[2].content"; "" for the whole example.'),
  message: z.string().describe('What is wrong, e.g. "Message content is empty."'),
  fix: z.string().describe('What to do about it, e.g. "Write the message text, or drop the example (clean_dataset drops it)."'),
});

const DistributionSchema = z
  .object({
    count: z.number().describe('Examples counted.'),
    total: z.number().describe('Sum of tokens.'),
    min: z.number().describe('Fewest tokens.'),
    mean: z.number().describe('Mean tokens.'),
    p50: z.number().describe('Median.'),
    p90: z.number().describe('90th percentile (numpy linear interpolation).'),
    p95: z.number().describe('95th percentile.'),
    max: z.number().describe('Most tokens.'),
  })
  .describe('Token distribution, e.g. {count: 5, total: 8242, min: 26, mean: 1648.4, p50: 45, …}.');

export const ValidationSummarySchema = z
  .object({
    format: z.enum(SOURCE_FORMATS).nullable().describe('Layout detected or given, e.g. "chat"; null when none matched.'),
    task_type: TaskTypeSchema.nullable().describe('Task type of the layout, e.g. "chat"; null when none matched.'),
    records: z.number().describe('Records read, e.g. 1000.'),
    valid_rows: z.number().describe('Examples with no error.'),
    rows_with_errors: z.number().describe('Examples with at least one error.'),
    errors: z.number().describe('Error issues in all.'),
    warnings: z.number().describe('Warning issues in all.'),
    by_code: z.record(z.string(), z.number()).describe('Issue count by code, e.g. {"duplicate_exact": 3}.'),
    issues_truncated: z.boolean().describe('True when more issues exist than are listed (raise datasets.max_issues).'),
    labels: z.record(z.string(), z.number()).optional().describe('Examples per label (classification; binary_feedback counts "true" and "false"), e.g. {"joy": 1400}.'),
    tokens: z
      .object({
        tokenizer: z.string().describe('Encoding or tokenizer used, e.g. "o200k_base".'),
        context_limit: z.number().nullable().describe('Tokens per example the target accepts, e.g. 65536; null when unknown.'),
        per_example: DistributionSchema,
        by_role: z.record(z.string(), DistributionSchema).describe('Content tokens per example by role (system, user, assistant, tool, …).'),
        over_limit: z.number().describe('Examples over the context limit.'),
        billable_tokens_per_epoch: z.number().describe('Tokens billed per epoch (each example capped at the limit), e.g. 4306.'),
        epochs: z.number().describe('Epochs assumed: the one given, or OpenAI\'s default for this size.'),
        estimated_billable_tokens: z.number().describe('billable_tokens_per_epoch × epochs, e.g. 86120.'),
      })
      .optional()
      .describe('Token statistics, counted with the real tokenizer of the target.'),
  })
  .describe('Counts by code, token distribution per role and estimated billable tokens.');

export const TokenStatsSchema = z
  .object({
    tokenizer: z.string().describe('Encoding or tokenizer, e.g. "o200k_base".'),
    total: z.number().describe('Tokens in all examples.'),
    min: z.number().describe('Fewest tokens in an example.'),
    mean: z.number().describe('Mean tokens per example.'),
    p50: z.number().describe('Median tokens per example.'),
    p90: z.number().describe('90th percentile.'),
    p95: z.number().describe('95th percentile.'),
    max: z.number().describe('Most tokens in an example.'),
    histogram: z
      .object({
        edges: z.array(z.number()).describe('Bin edges in tokens, one more than counts, e.g. [12, 20, 28].'),
        counts: z.array(z.number()).describe('Examples per bin: counts[i] have edges[i] ≤ tokens < edges[i+1], e.g. [40, 9].'),
      })
      .optional()
      .describe('Tokens-per-example histogram, up to 20 equal-width bins (absent in versions made before it was kept).'),
  })
  .describe('Tokens per example of the version.');

export const CountsSchema = z
  .object({
    rows: z.number().describe('Rows in the version, e.g. 999.'),
    train: z.number().optional().describe('Rows in train.jsonl (split versions).'),
    validation: z.number().optional().describe('Rows in validation.jsonl.'),
    test: z.number().optional().describe('Rows in test.jsonl.'),
  })
  .describe('Row counts.');

const PiiGovernanceSchema = z
  .object({
    kind: z.literal('pii_redaction').describe('What was done: "pii_redaction".'),
    consent_log_id: z.string().describe('Consent-log entry, e.g. "cns_01jc…".'),
    dataset_id: z.string().describe('Version the redaction produced, e.g. "ds_01jc…".'),
    source_dataset_id: z.string().describe('Version it read.'),
    actor: z.string().describe('Who asked for it, e.g. "jane@acme.example (data steward)".'),
    legal_basis: z.string().describe('Legal basis given, e.g. "GDPR Art. 6(1)(f)"; "not stated by the caller" when none was.'),
    consent_reference: z.string().nullable().describe('Consent or agreement reference, e.g. "DPA-2026-014"; null when none was given.'),
    purpose: z.string().nullable().describe('Purpose given, e.g. "fine-tune support assistant".'),
    redacted_kinds: z.array(z.string()).describe('Kinds redacted, e.g. ["email", "phone"].'),
    custom_patterns: z.array(z.string()).describe('Configured patterns redacted too, e.g. ["employee_id"].'),
    found: z.record(z.string(), z.number()).describe('Values found by kind, e.g. {"email": 3}.'),
    findings: z.number().describe('Values redacted.'),
    rows_affected: z.number().describe('Rows changed.'),
    at: z.string().describe('ISO time.'),
  })
  .describe('A governance record: a PII redaction with its legal basis and consent reference.');

/**
 * A governance record of either kind as one object (kind says which; the other kind's fields are
 * absent), not a union: three default tools list it, and a union's second branch cost ~350 bytes of
 * tools/list in each, past the 80 KB budget.
 */
export const GovernanceSchema = PiiGovernanceSchema.partial()
  .extend({
    kind: z.enum(['pii_redaction', 'generated_review']).describe('What was done: "pii_redaction", or "generated_review" (generated rows approved by people, commit_review).'),
    dataset_id: z.string().describe('Version the redaction or commit produced, e.g. "ds_01jc…".'),
    at: z.string().describe('ISO time.'),
    queue_id: z.string().optional().describe('generated_review: the review queue, e.g. "rq_01jc…".'),
    approved: z.number().optional().describe('generated_review: approved rows committed, e.g. 25.'),
    rejected: z.number().optional().describe('generated_review: rejected rows of the queue, left out, e.g. 15.'),
    reviewers: z.array(z.string()).optional().describe('generated_review: who approved the committed rows, e.g. ["alice"].'),
  })
  .describe('A governance record: a PII redaction (legal basis, consent reference) or a review of generated rows.');

/** One row of the append-only consent log. */
export const ConsentEntrySchema = PiiGovernanceSchema.pick({
  dataset_id: true,
  source_dataset_id: true,
  actor: true,
  legal_basis: true,
  consent_reference: true,
  purpose: true,
  redacted_kinds: true,
  custom_patterns: true,
  found: true,
  findings: true,
  rows_affected: true,
})
  .extend({
    id: z.string().describe('Consent-log entry id, e.g. "cns_01jc…".'),
    created_at: z.string().describe('ISO time.'),
  })
  .describe('A consent-log entry.');

export const ManifestSchema = z
  .object({
    dataset_id: DatasetIdSchema,
    parent_id: z.string().nullable().describe('The version this one was made from; null for an import.'),
    task_type: TaskTypeSchema,
    name: z.string().optional().describe('Human name given at import.'),
    source: z.object({ path: z.string().describe('Imported file or folder.'), format: z.string().describe('Source layout, or "canonical".'), sha256: z.string().describe('sha256 of the source bytes.') }).describe('Where the rows came from.'),
    content_hash: z.string().describe('sha256 of the rows (and split files), e.g. "9f2c…".'),
    counts: CountsSchema,
    token_stats: TokenStatsSchema,
    splits: z
      .object({
        ratios: z.object({ train: z.number().describe('Train share, e.g. 0.8.'), validation: z.number().describe('Validation share, e.g. 0.1.'), test: z.number().describe('Test share, e.g. 0.1.') }).describe('Split ratios, e.g. {train: 0.8, validation: 0.1, test: 0.1}.'),
        seed: z.number().describe('Seed of the shuffle.'),
        stratify_by: z.string().optional().describe('Field stratified on, e.g. "label".'),
        group_by: z.string().optional().describe('Field grouped on, e.g. "conversation_id".'),
      })
      .optional()
      .describe('How the version was split.'),
    created_at: z.string().describe('ISO time, e.g. "2026-11-22T01:00:00.000Z".'),
    lineage: z.array(z.record(z.string(), z.unknown())).describe('Operations from the import to this version, oldest first.'),
    report: z.record(z.string(), z.unknown()).optional().describe('Facts of the operation that made it (dropped rows, PII findings, leakage).'),
    governance: z.array(GovernanceSchema).optional().describe('PII redactions (legal basis, consent reference) and reviews of generated rows of this version and every version it derives from.'),
  })
  .describe('The manifest.json of the version.');
