/**
 * Quality gates: thresholds a model's metrics must meet before it ships. The defaults come from
 * the team's fine-tuning playbook (BLEU ≥ 35 on sacreBLEU's 0–100 scale, ROUGE-L F ≥ 0.40,
 * judge win-rate ≥ 0.65) and are replaced as a whole by `evaluation.gates` in the config.
 */
import { z } from 'zod';
import { SAFETY_METRICS } from '../safety/store.js';

const GateSchema = z.object({
  metric: z.string().min(1).describe('Metric name as tools report it, e.g. "bleu", "rouge_l", "win_rate", "macro_f1".'),
  comparator: z.enum(['>=', '<=']).default('>=').describe('">=" for scores (higher is better), "<=" for losses and perplexity.'),
  threshold: z.number().describe('The value the metric must reach, on the metric\'s own scale (BLEU 0–100, ROUGE 0–1).'),
});
export type Gate = z.infer<typeof GateSchema>;

export const DEFAULT_GATES: Gate[] = [
  { metric: 'bleu', comparator: '>=', threshold: 35 },
  { metric: 'rouge_l', comparator: '>=', threshold: 0.4 },
  { metric: 'win_rate', comparator: '>=', threshold: 0.65 },
];

export const EvaluationSettingsSchema = z.object({
  gates: z
    .array(GateSchema)
    .default(DEFAULT_GATES)
    .superRefine((gates, ctx) => {
      gates.forEach((g, i) => {
        if (g.metric.startsWith('safety.') && !(SAFETY_METRICS as readonly string[]).includes(g.metric)) {
          ctx.addIssue({ code: 'custom', path: [i, 'metric'], message: `'${g.metric}' is no safety metric; run_safety_probes records ${SAFETY_METRICS.join(', ')}` });
        }
      });
    })
    .describe('Quality gates checked by score_outputs, evaluations and promote_model; safety.* gates read the newest run_safety_probes report (docs/safety.md).'),
  bootstrap_samples: z.number().int().min(0).max(100_000).default(1000).describe('Bootstrap resamples for confidence intervals (0 turns them off).'),
  bootstrap_seed: z.number().int().min(0).default(12345).describe('Seed of the bootstrap resampling (sacreBLEU\'s default 12345).'),
});

export interface GateResult {
  metric: string;
  comparator: '>=' | '<=';
  threshold: number;
  /** The measured value, or null when the metric was not measured. */
  value: number | null;
  passed: boolean;
  message: string;
}

/**
 * Checks metrics against gates. A gate whose metric was not measured fails (it cannot vouch for
 * the model); pass `onlyMeasured` to leave such gates out instead, e.g. when scoring outputs
 * that cannot carry a win-rate.
 */
export function checkGates(
  metrics: Readonly<Record<string, number | null | undefined>>,
  gates: readonly Gate[] = DEFAULT_GATES,
  options: { onlyMeasured?: boolean } = {},
): GateResult[] {
  const results: GateResult[] = [];
  for (const gate of gates) {
    const raw = metrics[gate.metric];
    const value = typeof raw === 'number' && Number.isFinite(raw) ? raw : null;
    if (value === null && options.onlyMeasured) continue;
    const passed = value !== null && (gate.comparator === '>=' ? value >= gate.threshold : value <= gate.threshold);
    const rule = `${gate.metric} ${gate.comparator} ${gate.threshold}`;
    const message =
      value === null ? `${rule}: not measured` : `${rule}: ${formatValue(value)} ${passed ? 'passes' : 'fails'}`;
    results.push({ metric: gate.metric, comparator: gate.comparator, threshold: gate.threshold, value, passed, message });
  }
  return results;
}

function formatValue(value: number): string {
  return Math.abs(value) >= 10 ? value.toFixed(2) : value.toFixed(4);
}
