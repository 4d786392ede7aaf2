import { z } from 'zod';

/** Sample outputs evaluate_model returns by default (here, not in evaluate.ts, so the tool's schema loads without the evaluator). */
export const DEFAULT_SAMPLES = 3;

/** Zod shapes of comparison results, shared by compare_models and record_human_eval. */

export const MetricDeltaSchema = z.object({
  model: z.string().describe('Candidate model label, e.g. "stories-bot@1.1.0".'),
  metric: z.string().describe('Metric, e.g. "rouge_l".'),
  baseline: z.number().describe('Baseline value, e.g. 0.31.'),
  value: z.number().describe('Candidate value, e.g. 0.36.'),
  delta: z.number().describe('value − baseline, e.g. 0.05.'),
  ci: z.tuple([z.number(), z.number()]).describe('95 % paired-bootstrap interval of the delta, e.g. [0.01, 0.09].'),
  p_value: z.number().describe('Paired-bootstrap p-value of the difference, e.g. 0.012.'),
  significant: z.boolean().describe('p < 0.05.'),
  direction: z.enum(['better', 'worse', 'same']).describe('Whether the candidate is better on this metric.'),
});

export const JudgeResultSchema = z.object({
  model: z.string().describe('Candidate model label.'),
  wins: z.number().describe('Cases the candidate won in both answer orders, e.g. 14.'),
  losses: z.number().describe('Cases the baseline won in both orders, e.g. 3.'),
  ties: z.number().describe('Ties and order-inconsistent verdicts, e.g. 3.'),
  win_rate: z.number().describe('(wins + ties/2) / cases in 0–1, e.g. 0.775.'),
  consistency: z.number().describe('Share of cases where both orders agreed (low = position-biased judge), e.g. 0.85.'),
  p_value: z.number().describe('Exact sign test of wins vs losses, e.g. 0.013.'),
});

export const ChangedExampleSchema = z.object({
  model: z.string().describe('Candidate model label.'),
  line: z.number().describe('1-based line of the case in its file.'),
  prompt: z.string().describe('The prompt (last user turn).'),
  reference: z.string().describe('Expected answer.'),
  baseline_output: z.string().describe("Baseline's output."),
  model_output: z.string().describe("Candidate's output."),
  metric: z.string().describe('Per-example metric used to rank, e.g. "chrf".'),
  baseline_score: z.number().describe('Baseline score on this case.'),
  model_score: z.number().describe('Candidate score on this case.'),
  delta: z.number().describe('model_score − baseline_score.'),
});

export const VerdictSchema = z.object({
  model: z.string().describe('Candidate model label.'),
  verdict: z.enum(['improved', 'regressed', 'no_significant_change']).describe('Against the baseline.'),
  reasons: z.array(z.string()).describe('Significant differences behind the verdict, e.g. ["worse: bleu -4.1 (p=0.003)"].'),
});
