import { z } from 'zod';
import { FinetuneError } from '../src/errors.js';
import { defineTool } from '../src/server/tool.js';

/** How deep extra params may nest: storing and showing a run stringifies them recursively (100,000 levels overflowed the stack). */
const MAX_PARAMS_DEPTH = 32;

/** Nesting depth of a JSON value, counted without recursion and stopping past `limit`. */
function depthOver(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= limit) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

const RunSchema = z.object({
  run_id: z.string().describe('Run id, e.g. "exp_01j…".'),
  experiment: z.string().describe('Experiment name, e.g. "support-finetune-2026-11-22".'),
  run_name: z.string().describe('Run name, unique in its experiment, e.g. "lr-2e-4".'),
  job_id: z.string().nullable().describe('Training job of the run, e.g. "job_01j…", or null.'),
  params: z.record(z.string(), z.unknown()).describe('Parameters, e.g. {"learning_rate": 0.0002, "lora_r": 8}.'),
  metrics: z.record(z.string(), z.number()).describe('Metrics, e.g. {"loss": 1.21, "perplexity": 3.4}.'),
  artifacts: z.record(z.string(), z.string()).describe('Artifact paths or URIs, e.g. {"adapter": "/…/output/adapter"}.'),
  created_at: z.string().describe('ISO time.'),
});

export { RunSchema };

export const logExperimentTool = defineTool({
  name: 'log_experiment',
  title: 'Log an experiment run',
  description:
    'Records a run in an experiment: its params, metrics and artifacts. Given a job_id, params (base model, dataset, method, ' +
    'hyperparameters), final metrics, output folders and the job\'s evaluations (evaluate_model metrics; each record\'s folder as an ' +
    'artifact named by its eval_… id) are taken from the job; explicit params/metrics add to them. ' +
    'The experiment defaults to "<project>-finetune-<YYYY-MM-DD>". Runs are immutable. Next: compare_experiments.',
  input: {
    experiment: z.string().optional().describe('Experiment name, e.g. "support-finetune-2026-11-22"; default from project and today.'),
    project: z.string().optional().describe('Project for the default experiment name, e.g. "support". Default "default".'),
    run_name: z.string().optional().describe('Run name, unique in the experiment, e.g. "lr-2e-4"; default the job id or run-N.'),
    job_id: z.string().optional().describe('Training job this run is, e.g. "job_01j…".'),
    params: z.record(z.string(), z.unknown()).optional().describe(`Extra params, at most ${MAX_PARAMS_DEPTH} levels deep, e.g. {"note": "dedup on"}.`),
    metrics: z.record(z.string(), z.number()).optional().describe('Extra metrics, e.g. {"bleu": 31.2}.'),
    artifacts: z.record(z.string(), z.string()).optional().describe('Extra artifacts, e.g. {"card": "./MODEL_CARD.md"}.'),
  },
  output: { run: RunSchema.describe('The recorded run.') },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(args, { services }) {
    if (args.params && depthOver(args.params, MAX_PARAMS_DEPTH)) {
      throw new FinetuneError('INVALID_INPUT', `params nest deeper than ${MAX_PARAMS_DEPTH} levels.`, {
        recovery: 'Pass flat params (names to numbers or strings), e.g. {"note": "dedup on"}.',
        details: { field: 'params' },
      });
    }
    const { experimentsOf } = await import('../src/registry/index.js');
    return { run: experimentsOf(services).log(args) };
  },
  summarize: ({ run }) => `Logged run ${run.run_name} (${run.run_id}) in ${run.experiment}: ${Object.keys(run.metrics).length} metrics, ${Object.keys(run.params).length} params.`,
});
