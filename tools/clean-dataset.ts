import { z } from 'zod';
import { PII_KINDS } from '../src/datasets/pii.js';
import { CountsSchema, DatasetIdSchema, ModelSpecSchema, TokenStatsSchema } from '../src/datasets/schemas.js';
import { defineTool } from '../src/server/tool.js';

const RowNoteSchema = z.object({
  line: z.number().describe('Line in the parent version\'s rows.jsonl, e.g. 14.'),
  code: z.string().describe('Why it was dropped, e.g. "duplicate_exact", "empty_content".'),
  message: z.string().describe('Details, e.g. "Exact duplicate of line 1."'),
});

export const cleanDatasetTool = defineTool({
  name: 'clean_dataset',
  title: 'Clean a dataset version',
  description:
    'Makes a cleaned NEW version of a dataset (the original stays): repairs encoding (mojibake, invisible and control characters, CRLF line ends; spaces, indentation and line breaks stay as they are), ' +
    'removes exact and near duplicates, drops rows with errors (empty content, no assistant reply, chosen = rejected, special tokens…) and lists ' +
    'every dropped row with its line and reason. With redact_pii=true it replaces e-mails, phone numbers, payment cards (Luhn-checked), IBANs ' +
    '(checksum-checked), IPv4/IPv6 addresses and configured patterns by typed placeholders ([EMAIL], [PHONE], …), reports findings by line and kind ' +
    '(never the values) and appends a record (who, when, legal basis or consent reference) to the consent log. Next: split_dataset.',
  input: {
    dataset_id: DatasetIdSchema,
    redact_pii: z.boolean().default(false).describe('Redact personal data. Default false.'),
    pii_kinds: z.array(z.enum(PII_KINDS)).default([...PII_KINDS]).describe('Kinds to redact, e.g. ["email", "phone"]. Default all.'),
    legal_basis: z.string().max(500).optional().describe('Legal basis for processing, recorded in the consent log, e.g. "GDPR Art. 6(1)(f) legitimate interest".'),
    consent_reference: z.string().max(500).optional().describe('Reference of the consent or agreement, e.g. "DPA-2026-014".'),
    actor: z.string().max(200).optional().describe('Who asks for the redaction, recorded in the consent log, e.g. "jane@acme.example (data steward)".'),
    purpose: z.string().max(500).optional().describe('Why the data is processed, e.g. "fine-tune support assistant".'),
    remove_duplicates: z.boolean().default(true).describe('Drop exact duplicates (the first stays). Default true.'),
    remove_near_duplicates: z.boolean().default(true).describe('Drop rows equal up to case, punctuation and whitespace. Default true.'),
    fix_text: z.boolean().default(true).describe('Repair encoding (mojibake, invisible/control characters, CRLF); never spaces, indentation or line breaks. Default true.'),
    drop_invalid: z.boolean().default(true).describe('Drop rows with error-level issues. Default true.'),
    model: ModelSpecSchema.optional().describe("Tokenizer for the new version's token statistics; default the parent's (as in its manifest), e.g. \"mdl_01jc…\"."),
  },
  output: {
    dataset_id: DatasetIdSchema.describe('The new, cleaned version, e.g. "ds_01jcx…".'),
    parent_id: DatasetIdSchema.describe('The version it was cleaned from.'),
    counts: CountsSchema,
    token_stats: TokenStatsSchema,
    rows_in: z.number().describe('Rows of the parent, e.g. 1000.'),
    dropped_count: z.number().describe('Rows dropped, e.g. 12.'),
    dropped_by_code: z.record(z.string(), z.number()).describe('Dropped rows by reason, e.g. {"duplicate_exact": 10}.'),
    dropped: z.array(RowNoteSchema).describe('Dropped rows (first 200), never silently.'),
    text_fixed_rows: z.number().describe('Rows whose text was repaired.'),
    pii: z
      .object({
        findings_total: z.number().describe('Values redacted, e.g. 7.'),
        by_kind: z.record(z.string(), z.number()).describe('Values redacted by kind, e.g. {"email": 3}.'),
        rows_affected: z.number().describe('Rows with at least one redaction.'),
        findings: z
          .array(z.object({ line: z.number().describe('Parent line.'), field: z.string().describe('JSON path, e.g. "messages[1].content".'), kind: z.string().describe('Kind, e.g. "email".'), count: z.number().describe('Values of that kind there.') }))
          .describe('Where PII was found (first 200), without the values.'),
        consent_log_id: z.string().nullable().describe('Id of the consent-log entry (cns_…), null when nothing was redacted.'),
      })
      .describe('PII redaction report.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(args, { services, signal, progress }) {
    const { cleanDataset } = await import('../src/datasets/clean.js');
    const result = await cleanDataset(services.datasets, args, { signal, progress: (d, t, m) => void progress(d, t, m) });
    return {
      dataset_id: result.record.id,
      parent_id: args.dataset_id,
      counts: result.record.manifest.counts,
      token_stats: result.record.manifest.token_stats,
      rows_in: result.rows_in,
      dropped_count: result.dropped_count,
      dropped_by_code: result.dropped_by_code,
      dropped: result.dropped,
      text_fixed_rows: result.text_fixed_rows,
      pii: result.pii,
    };
  },
  summarize: (o) =>
    `Cleaned ${o.parent_id} into ${o.dataset_id}: ${o.rows_in} → ${o.counts.rows} rows (${Object.entries(o.dropped_by_code).map(([c, n]) => `${c} ${n}`).join(', ') || 'none dropped'}); ` +
    `${o.text_fixed_rows} rows repaired; ${o.pii.findings_total} PII values redacted${o.pii.consent_log_id ? ` (consent log ${o.pii.consent_log_id})` : ''}.`,
});
