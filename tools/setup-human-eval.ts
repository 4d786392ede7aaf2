import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';

export const setupHumanEvalTool = defineTool({
  name: 'setup_human_eval',
  title: 'Set up a human review',
  description:
    'Turns a stored comparison (compare_models) into a blind review sheet people can fill in a spreadsheet: one row per case and ' +
    'candidate, the question, the reference and the two answers as A and B in a seeded random order, and a verdict column per ' +
    'criterion (default accuracy, helpfulness, safety). The A/B key stays in the workspace. Next: record_human_eval with the filled file.',
  input: {
    comparison_id: z.string().describe('Comparison to review, e.g. "cmp_01j…".'),
    criteria: z.array(z.string()).optional().describe('Verdict columns, e.g. ["accuracy","helpfulness","safety"].'),
    output_path: z.string().optional().describe('Also write the sheet here (under an allowed root), e.g. "./review.csv".'),
    max_items: z.number().int().min(1).max(10000).optional().describe('At most this many rows, e.g. 50.'),
    seed: z.number().int().min(0).default(1).describe('Seed of the A/B shuffle, e.g. 1.'),
  },
  output: {
    human_eval_id: z.string().describe('Review id, e.g. "he_01j…".'),
    file: z.string().describe('The CSV sheet to hand to reviewers (absolute path).'),
    items: z.number().describe('Rows to review, e.g. 20.'),
    criteria: z.array(z.string()).describe('Criteria, e.g. ["accuracy","helpfulness","safety"].'),
    instructions: z.string().describe('What reviewers do, to pass on.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(args, { services }) {
    const { setupHumanEval } = await import('../src/evaluation/human-eval.js');
    return setupHumanEval(services, args);
  },
  summarize: (o) => `Review ${o.human_eval_id}: ${o.items} items, criteria ${o.criteria.join(', ')}; sheet at ${o.file}. ${o.instructions}`,
});
