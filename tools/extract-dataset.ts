import { z } from 'zod';
import { DatasetIdSchema, TaskTypeSchema } from '../src/datasets/schemas.js';
import { EXTRACT_KINDS, FeedbackSchema } from '../src/datasets/telemetry/options.js';
import { defineTool } from '../src/server/tool.js';

const count = (what: string, example: number) => z.number().int().describe(`${what}, e.g. ${example}.`);

export const extractDatasetTool = defineTool({
  name: 'extract_dataset',
  title: 'Extract a dataset from telemetry',
  description:
    'Builds a dataset version from production telemetry: source "phoenix" reads Arize Phoenix spans over REST, "otel-files" reads an exported ' +
    'file (OTLP/JSON traces or OpenInference span JSONL). From LLM spans (OpenInference or OTel GenAI attributes) and their annotations it makes ' +
    'SFT chats (approved answers, human corrections) or DPO pairs (an approved and a rejected answer to the same input, or a correction and the ' +
    'answer it corrects); from retriever/reranker spans with document relevance feedback, embedding triplets. kind "auto" picks DPO, else SFT, ' +
    'else triplets by the thresholds in datasets.extraction and says why. Identical rows are folded (count in the version\'s lineage.jsonl, with ' +
    'trace, span and annotation ids per row); PII is counted, or redacted with redact_pii. Next: validate_dataset, split_dataset, configure_training.',
  input: {
    source: z.string().min(1).default('phoenix').describe('Data-source plugin from server_info: "phoenix" (REST) or "otel-files" (exported files).'),
    query: z
      .record(z.string(), z.unknown())
      .describe(
        'The source\'s query. phoenix: {"project": "support-bot", "start_time": "2026-11-01T00:00:00Z", "end_time": "2026-12-01T00:00:00Z", "limit": 5000, "include_errors": false}. ' +
          'otel-files: {"path": "exports/traces.json", "annotations_path": "exports/annotations.jsonl"} (paths under the allowed roots).',
      ),
    kind: z.enum(EXTRACT_KINDS).default('auto').describe('What to build: "auto" (by the data: DPO ≥ 20 pairs, else SFT ≥ 50 examples, else triplets ≥ 50), "sft", "dpo" or "triplets".'),
    feedback: FeedbackSchema.partial().optional().describe('Which annotations approve or reject, e.g. {"annotation_name": "correctness", "labels": ["correct"], "annotator_kinds": ["HUMAN"]}.'),
    redact_pii: z.boolean().default(false).describe('Replace PII (emails, phones, cards, IBANs, IPs, datasets.pii_patterns) by placeholders in the rows; default false: counted and reported only.'),
    name: z.string().max(200).optional().describe('Human name for the dataset version, e.g. "support-bot-nov".'),
  },
  output: {
    dataset_id: DatasetIdSchema,
    task_type: TaskTypeSchema,
    kind: z.enum(['sft', 'dpo', 'triplets', 'rows']).describe('What was built: "dpo" (preference), "sft" (chat), "triplets" (triplet), or "rows" from a source that gives finished rows.'),
    reason: z.string().describe('Why this kind, with the counts, e.g. "DPO: 24 preference pairs ≥ 20 (datasets.extraction.min_dpo_pairs); …".'),
    candidates: z
      .object({ sft: count('SFT examples the feedback allowed', 48), dpo: count('Preference pairs', 24), triplets: count('Retrieval triplets', 0) })
      .optional()
      .describe('What each kind would have given, before folding.'),
    examples: count('Rows in the version (after folding)', 812),
    folded_duplicates: count('Identical rows folded into another (their count is in lineage.jsonl)', 3),
    pii: z
      .object({
        by_kind: z.record(z.string(), z.number()).describe('PII values found by kind, e.g. {"email": 4}.'),
        rows_affected: count('Rows holding any', 3),
        redacted: z.boolean().describe('Whether they were replaced by placeholders.'),
        consent_log_id: z.string().nullable().describe('The consent-log entry of the redaction (cns_…), or null.'),
      })
      .describe('PII scan of the rows.'),
    skipped_count: count('Records (spans, annotations, lines) not used', 14),
    skipped: z.array(z.object({ ref: z.string().describe('Span id, annotation id or file:line.'), reason: z.string().describe('Why it was not used.') })).describe('First 100 skipped records.'),
    source_file: z.string().describe('The extracted JSONL the version was prepared from.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handler(args, { services, signal, progress }) {
    const { extractDataset } = await import('../src/datasets/extract.js');
    const out = await extractDataset(services, args, { signal, progress: (done, total, message) => void progress(done, total || undefined, message) });
    return {
      dataset_id: out.prepared.record.id,
      task_type: out.prepared.record.task_type,
      kind: out.choice.kind,
      reason: out.choice.reason,
      ...(out.choice.counts ? { candidates: out.choice.counts } : {}),
      examples: out.rows,
      folded_duplicates: out.folded_duplicates,
      pii: out.pii,
      skipped_count: out.skipped.length,
      skipped: out.skipped.slice(0, 100),
      source_file: out.file,
    };
  },
  summarize: (o) => `Extracted ${o.examples} ${o.task_type} rows into ${o.dataset_id} (${o.reason}); folded ${o.folded_duplicates}, skipped ${o.skipped_count}.`,
});
