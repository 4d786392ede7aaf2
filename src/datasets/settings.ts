import { z } from 'zod';
import { DEFAULT_PII_REGIONS, unsupportedRegions } from './pii-phone.js';
import { DEFAULT_MAX_CSV_COLUMNS, DEFAULT_MAX_JSON_VALUES } from './limits.js';

/** The `datasets` section of the server config; every field has a default, so an empty section is valid. */
export const DatasetSettingsSchema = z.object({
  max_line_bytes: z.number().int().min(1024).default(64 * 1024 * 1024).describe('Largest example in bytes: a JSONL line, a JSON array element, a CSV/TSV record or a text document over it is one issue, never held in memory.'),
  max_json_bytes: z.number().int().min(1024).default(16 * 1024 * 1024).describe('Largest .json file that is one value, not an array (it is read whole); JSON arrays and JSONL stream at any size.'),
  max_json_values: z.number().int().min(1000).default(DEFAULT_MAX_JSON_VALUES).describe('JSON values (objects, arrays and their items) allowed in one example; parsed, each takes ~100 bytes, so the default bounds an example near 100 MB.'),
  max_csv_columns: z.number().int().min(1).default(DEFAULT_MAX_CSV_COLUMNS).describe('Columns allowed in a CSV/TSV header; a wider file is one `too_many_columns` issue.'),
  text_separator: z.string().default('').describe('Separator of documents in .txt sources (e.g. "<|endoftext|>"); blank lines when empty.'),
  default_tokenizer: z.string().default('o200k_base').describe('Encoding for token statistics when no model is named: o200k_base or cl100k_base.'),
  max_issues: z.number().int().min(1).default(1000).describe('Issues listed per validation (counts are always complete).'),
  rare_label_fraction: z.number().min(0).max(1).default(0.01),
  min_label_examples: z.number().int().min(1).default(5),
  imbalance_ratio: z.number().min(1).default(10),
  min_examples_openai: z.number().int().min(1).default(10),
  min_examples_sft: z.number().int().min(1).default(50),
  min_examples_dpo: z.number().int().min(1).default(20),
  pii_patterns: z
    .array(
      z.object({
        name: z.string().regex(/^[a-z][a-z0-9_]*$/).describe('Kind name, e.g. "employee_id".'),
        pattern: z.string().min(1).describe('JavaScript regular expression source, e.g. "EMP-\\\\d{6}".'),
        placeholder: z.string().optional().describe('Replacement; default "[NAME]" upper-cased.'),
      }),
    )
    .default([])
    .describe('Extra PII patterns redacted by clean_dataset besides the built-in kinds.'),
  pii: z
    .object({
      regions: z
        .array(z.string().regex(/^[A-Za-z]{2}$/, 'an ISO 3166-1 alpha-2 country code such as "DE"').transform((r) => r.toUpperCase()))
        .default([...DEFAULT_PII_REGIONS])
        // The default list is known good; only another list loads libphonenumber to check it.
        .superRefine((regions, ctx) => {
          const unknown = regions.some((r) => !(DEFAULT_PII_REGIONS as readonly string[]).includes(r)) ? unsupportedRegions(regions) : [];
          if (unknown.length) ctx.addIssue({ code: 'custom', message: `no phone numbering plan for ${unknown.join(', ')}` });
        })
        .describe('Countries whose national phone formats PII redaction recognises (international +… numbers of every country always are), e.g. ["DE", "AT", "CH"]. Default: the EU/EEA countries plus GB, CH, US.'),
    })
    .prefault({})
    .describe('PII redaction settings.'),
  extraction: z
    .object({
      min_dpo_pairs: z.number().int().min(1).default(20).describe('extract_dataset kind "auto" picks DPO (preference pairs) from this many pairs, e.g. 20.'),
      min_sft_examples: z.number().int().min(1).default(50).describe('…else SFT (chat) from this many approved examples, e.g. 50.'),
      min_triplets: z.number().int().min(1).default(50).describe('…else embedding triplets (anchor, positive, negative) from this many, e.g. 50.'),
      max_pairs_per_input: z.number().int().min(1).default(4).describe('Most DPO pairs (or triplets) made from one input (or one query), e.g. 4.'),
    })
    .prefault({})
    .describe('Telemetry extraction (extract_dataset): the thresholds of kind "auto" and pairing limits.'),
});

export type DatasetSettings = z.infer<typeof DatasetSettingsSchema>;
