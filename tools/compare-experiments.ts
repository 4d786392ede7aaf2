import { z } from 'zod';
import { FinetuneError } from '../src/errors.js';
import { defineTool } from '../src/server/tool.js';
import { RunSchema } from './log-experiment.js';

export const compareExperimentsTool = defineTool({
  name: 'compare_experiments',
  title: 'Compare experiment runs',
  description:
    'Shows runs side by side: all runs of an experiment, the runs named by id, or training jobs directly (every job is a run). Returns which params differ between runs ' +
    '(and the ones shared), every metric per run and the best run for it. Each metric has a declared direction: lower (loss, perplexity, ' +
    'memory), higher (BLEU, accuracy, win-rate, tokens/s) or context (learning_rate, epoch, grad_norm: shown, not ranked); a metric of ' +
    'unknown direction is not ranked (a note says so) unless `directions` names it. ' +
    'Use it to choose which job to evaluate and register.',
  input: {
    experiment: z.string().optional().describe('Experiment name, e.g. "support-finetune-2026-11-22".'),
    run_ids: z.array(z.string()).optional().describe('Or these runs, from any experiments, e.g. ["exp_01j…","exp_01k…"].'),
    job_ids: z.array(z.string()).optional().describe('Training jobs to compare as runs, logged or not (added after the runs), e.g. ["job_01j…"].'),
    directions: z
      .record(z.string(), z.enum(['lower', 'higher']))
      .optional()
      .describe('Which way is better for metrics of your own (overrides the built-in table), e.g. {"toxicity": "lower", "helpfulness": "higher"}.'),
  },
  output: {
    runs: z.array(RunSchema).describe('The runs, in order.'),
    varying_params: z.array(z.object({ param: z.string().describe('Param name, e.g. "learning_rate".'), values: z.array(z.unknown()).describe('Its value per run, in run order.') })).describe('Params that differ between runs.'),
    constant_params: z.record(z.string(), z.unknown()).describe('Params equal in every run, e.g. {"lora_r": 8}.'),
    metrics: z
      .array(
        z.object({
          metric: z.string().describe('Metric name, e.g. "eval_loss".'),
          values: z.array(z.number().nullable()).describe('Value per run (null when missing), in run order.'),
          best_run: z.string().nullable().describe('run_id with the best value; null when the metric is not ranked.'),
          direction: z
            .enum(['lower', 'higher', 'context', 'unknown'])
            .describe('Which direction is better: "lower", "higher", "context" (describes the run, not ranked) or "unknown" (not ranked).'),
          note: z.string().optional().describe('Why the metric is not ranked and how to rank it, e.g. "toxicity has no known direction; not ranked. …".'),
        }),
      )
      .describe('Each metric across runs.'),
  },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async handler(args, { services }) {
    const [{ compareRuns }, { experimentsOf }] = await Promise.all([import('../src/registry/experiments.js'), import('../src/registry/index.js')]);
    const experiments = experimentsOf(services);
    const runs = [...(args.experiment || args.run_ids?.length ? experiments.runs(args) : []), ...(args.job_ids ?? []).map((id) => experiments.jobRun(id))];
    if (runs.length < 1) throw new FinetuneError('INVALID_INPUT', 'Pass experiment, run_ids or job_ids.', { details: { field: 'experiment' } });
    const comparison = compareRuns(runs, args.directions);
    return { runs, varying_params: comparison.varying_params, constant_params: comparison.constant_params, metrics: comparison.metrics };
  },
  summarize: (o) =>
    `${o.runs.length} runs; varying: ${o.varying_params.map((p) => p.param).join(', ') || 'none'}; ` +
    o.metrics.map((m) => (m.best_run ? `${m.metric} best ${m.best_run}` : `${m.metric} not ranked (${m.direction})`)).join(', '),
});
