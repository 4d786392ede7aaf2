import { z } from 'zod';
import { ChangedExampleSchema, JudgeResultSchema, MetricDeltaSchema, VerdictSchema } from '../src/evaluation/schemas.js';
import { defineTool } from '../src/server/tool.js';
import { MCP_APP_URI } from '../src/server/ui/mcp-app.js';

export const compareModelsTool = defineTool({
  name: 'compare_models',
  title: 'Compare models on the same cases',
  description:
    'Runs two or more models on the same cases (a fine-tune is always compared with its base model) or reads their outputs from ' +
    'a file, then reports per-metric deltas with paired-bootstrap significance, the examples that changed most, an LLM-judge ' +
    'win-rate (each pair judged in both answer orders to cancel position bias; the judge is the client model through MCP sampling ' +
    'when available, else the OpenAI-compatible endpoint in the config) and a regression verdict. Stored as comparison_id. ' +
    'Next: setup_human_eval for a human check, or register_model / promote_model.',
  input: {
    models: z
      .array(
        z.object({
          model_id: z.string().optional().describe('Base model record id or served model "<plugin>:<model>", e.g. "mdl_01j…" or "openai:gpt-4o-mini".'),
          job_id: z.string().optional().describe('Training job whose adapter to apply to its base, e.g. "job_01j…".'),
          adapter_path: z.string().optional().describe('PEFT adapter folder to apply to model_id, e.g. "./adapter".'),
          version: z.string().optional().describe('Registered version as name@version or version id, e.g. "stories-bot@1.0.0".'),
          label: z.string().optional().describe('Name in the report, e.g. "ft-lr3e-4"; default derived.'),
        }),
      )
      .optional()
      .describe('Models to run (the base of a fine-tune is added when missing). Omit when outputs_path is given.'),
    outputs_path: z.string().optional().describe('Or a JSONL of outputs made elsewhere: {prompt, reference?, outputs: {"<model>": "<text>"}} per line.'),
    baseline: z.string().optional().describe('Label of the model the others are compared with; default the base model (or the first).'),
    dataset_id: z.string().optional().describe('Cases from this dataset version (its test split by default), e.g. "ds_01j…".'),
    path: z.string().optional().describe('Or cases from a JSONL file of canonical rows, e.g. "./eval.jsonl".'),
    split: z.enum(['train', 'validation', 'test']).optional().describe('Dataset split, e.g. "test".'),
    max_examples: z.number().int().min(1).max(100000).optional().describe('Use at most this many cases, e.g. 50.'),
    metrics: z.array(z.string()).optional().describe('Text metrics, e.g. ["bleu","chrf","rouge_l"]; default by task.'),
    judge: z.string().default('auto').describe('"auto" (sampling, else configured endpoint, else none), "sampling", "endpoint", "none" or "plugin:<name>".'),
    criteria: z.array(z.string()).optional().describe('What the judge weighs, e.g. ["accuracy","helpfulness","safety"].'),
    max_new_tokens: z.number().int().min(1).max(4096).default(128).describe('Generation length per case, e.g. 128.'),
    include_chart: z.boolean().default(false).describe('Attach a PNG bar chart: per metric, each candidate − baseline with its 95 % interval. Default false.'),
  },
  output: {
    comparison_id: z.string().describe('Stored comparison, e.g. "cmp_01j…" (setup_human_eval takes it).'),
    dataset: z.string().describe('Where the cases came from, e.g. "ds_01j…/test".'),
    cases: z.number().describe('Number of cases compared.'),
    baseline: z.string().describe('Baseline label.'),
    models: z.array(z.object({ model: z.string().describe('Label.'), metrics: z.record(z.string(), z.number()).describe('Corpus metrics, e.g. {"bleu": 31.2}.') })).describe('Each model with its metrics.'),
    deltas: z.array(MetricDeltaSchema).describe('Candidate − baseline per metric with significance.'),
    changed_most: z.array(ChangedExampleSchema).describe('Cases whose score moved most.'),
    judge: z.object({ used: z.string().describe('Which judge, e.g. "client sampling".'), results: z.array(JudgeResultSchema).describe('Win-rate per candidate.') }).nullable().describe('LLM-judge results, null when no judge ran.'),
    verdicts: z.array(VerdictSchema).describe('Verdict per candidate.'),
    verdict: z.enum(['improved', 'regressed', 'no_significant_change']).describe('Overall: regressed if any candidate regressed.'),
    notes: z.array(z.string()).describe('What was skipped and why, e.g. "no judge: client cannot sample and judge.base_url is unset".'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  app: MCP_APP_URI,
  async handler({ include_chart, ...args }, ctx) {
    const { runComparison } = await import('../src/evaluation/compare-run.js');
    const result = await runComparison(ctx, args);
    if (include_chart) ctx.attachImage(await (await import('../src/plots/comparison-charts.js')).modelComparisonPng(result));
    return result;
  },
  summarize: (o) =>
    `${o.comparison_id}: ${o.cases} cases, verdict ${o.verdict}. ` +
    o.verdicts.map((v) => `${v.model}: ${v.verdict}`).join('; ') +
    (o.judge ? `; judge (${o.judge.used}) win-rates ${o.judge.results.map((r) => `${r.model} ${(100 * r.win_rate).toFixed(1)}%`).join(', ')}` : ''),
});
