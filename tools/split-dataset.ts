import { z } from 'zod';
import { CountsSchema, DatasetIdSchema } from '../src/datasets/schemas.js';
import { defineTool } from '../src/server/tool.js';

const ratio = (name: string, fallback: number) => z.number().min(0).max(1).default(fallback).describe(`Share of rows in ${name}, e.g. ${fallback}. The three ratios must sum to 1.`);
const PerSplitSchema = z.record(z.string(), z.number()).describe('Rows per split pair or split, e.g. {"train-test": 2}.');

export const splitDatasetTool = defineTool({
  name: 'split_dataset',
  title: 'Split a dataset version',
  description:
    'Makes a NEW version with train.jsonl, validation.jsonl and test.jsonl by ratios (default 0.8/0.1/0.1; any ratios that sum to 1), ' +
    'reproducible with `seed`. Classification is stratified by label by default (stratify_by for another field); group_by keeps rows that ' +
    'share a field value (e.g. a conversation id or "messages[0].content") in one split; without it, rows with the same normalised content ' +
    'stay together so duplicates cannot leak. Returns counts per split and a leakage report (exact and normalised matches across splits). ' +
    'Next: configure_training {dataset_id}.',
  input: {
    dataset_id: DatasetIdSchema,
    train: ratio('train', 0.8),
    validation: ratio('validation', 0.1),
    test: ratio('test', 0.1),
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(42).describe('Shuffle seed; the same seed gives the same split, e.g. 42.'),
    stratify_by: z.string().min(1).optional().describe('JSON path of the field whose proportions every split keeps, e.g. "label" (the default for classification).'),
    group_by: z.string().min(1).optional().describe('JSON path of the field whose rows must stay in one split, e.g. "messages[0].content".'),
  },
  output: {
    dataset_id: DatasetIdSchema.describe('The new, split version.'),
    parent_id: DatasetIdSchema.describe('The version it was split from.'),
    counts: CountsSchema,
    groups: z.number().describe('Groups dealt to splits (rows that must stay together count as one), e.g. 374.'),
    strata: z.record(z.string(), z.object({ train: z.number().describe('Rows in train.'), validation: z.number().describe('Rows in validation.'), test: z.number().describe('Rows in test.') })).optional().describe('Rows per split for each stratum value, e.g. {"joy": {"train": 78, "validation": 10, "test": 9}}.'),
    leakage: z
      .object({
        exact: PerSplitSchema.describe('Rows with an exact copy in another split, by split pair; {} when none.'),
        normalized: PerSplitSchema.describe('Rows equal up to case/punctuation/whitespace to one in another split; {} when none.'),
        examples: z
          .array(z.object({ kind: z.enum(['exact', 'normalized']).describe('Match kind.'), split: z.string().describe('Split of the row.'), line: z.number().describe('Line in that split file.'), other_split: z.string().describe('Split of the match.'), other_line: z.number().describe('Line there.') }))
          .describe('Up to 20 leaking rows.'),
      })
      .describe('Leakage across splits.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(args, { services, signal }) {
    const { splitDataset } = await import('../src/datasets/split.js');
    const result = await splitDataset(services.datasets, args, { signal });
    return {
      dataset_id: result.record.id,
      parent_id: args.dataset_id,
      counts: result.record.manifest.counts,
      groups: result.groups,
      ...(result.strata ? { strata: result.strata } : {}),
      leakage: result.leakage,
    };
  },
  summarize: (o) => {
    const leaks = Object.values(o.leakage.exact).reduce((a, b) => a + b, 0) + Object.values(o.leakage.normalized).reduce((a, b) => a + b, 0);
    return `Split ${o.parent_id} into ${o.dataset_id}: train ${o.counts.train}, validation ${o.counts.validation}, test ${o.counts.test}; ${leaks ? `${leaks} leaking rows` : 'no leakage'}.`;
  },
});
