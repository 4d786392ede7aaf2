import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';

export const recordHumanEvalTool = defineTool({
  name: 'record_human_eval',
  title: 'Record human verdicts',
  description:
    'Imports a filled review sheet (from setup_human_eval) for one reviewer: verdicts A, B or tie per criterion are mapped back to ' +
    'the models through the hidden key and stored (immutable). Returns per model and criterion the wins, losses, ties, win-rate and ' +
    'sign-test p-value over every reviewer so far, and how often people agreed with the LLM judge.',
  input: {
    human_eval_id: z.string().describe('Review id from setup_human_eval, e.g. "he_01j…".'),
    path: z.string().describe('The filled CSV sheet, e.g. "./review-alice.csv".'),
    reviewer: z.string().min(1).max(100).describe('Who filled it, e.g. "alice".'),
  },
  output: {
    human_eval_id: z.string().describe('Review id.'),
    reviewer: z.string().describe('Reviewer recorded.'),
    recorded: z.number().describe('Verdicts imported from this sheet, e.g. 57.'),
    reviewers: z.number().describe('Reviewers recorded so far, e.g. 2.'),
    results: z
      .array(
        z.object({
          model: z.string().describe('Candidate model label.'),
          criterion: z.string().describe('Criterion, e.g. "accuracy".'),
          wins: z.number().describe('Verdicts for the candidate.'),
          losses: z.number().describe('Verdicts for the baseline.'),
          ties: z.number().describe('Ties.'),
          win_rate: z.number().describe('(wins + ties/2) / verdicts in 0–1, e.g. 0.7.'),
          p_value: z.number().describe('Exact sign test of wins vs losses, e.g. 0.02.'),
        }),
      )
      .describe('Human win-rates against the baseline, per model and criterion, all reviewers pooled.'),
    judge_agreement: z.number().nullable().describe('Share of verdicts that match the LLM judge outcome, e.g. 0.8; null without a judge.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(args, { services }) {
    const { recordHumanEval } = await import('../src/evaluation/human-eval.js');
    return recordHumanEval(services, args);
  },
  summarize: (o) =>
    `Recorded ${o.recorded} verdicts from ${o.reviewer} (${o.reviewers} reviewers). ` +
    o.results.map((r) => `${r.model} ${r.criterion} ${(100 * r.win_rate).toFixed(0)}%`).join(', ') +
    (o.judge_agreement === null ? '' : `; judge agreement ${(100 * o.judge_agreement).toFixed(0)}%`),
});
