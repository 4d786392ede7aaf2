import { z } from 'zod';
import { DEFAULT_PII_REGIONS, unsupportedRegions } from './pii-phone.js';

/** The `datasets` section of the server config; every field has a default, so an empty section is valid. */
export const DatasetSettingsSchema = z.object({
  max_line_bytes: z.number().int().min(1024).default(64 * 1024 * 1024).describe('A JSONL line longer than this is one `line_too_long` issue, never held in memory.'),
  max_json_bytes: z.number().int().min(1024).default(128 * 1024 * 1024).describe('Largest whole-file JSON array read (it is parsed whole, so this stays far below the heap limit; JSONL streams at any size).'),
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
});

export type DatasetSettings = z.infer<typeof DatasetSettingsSchema>;
