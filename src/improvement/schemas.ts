import { z } from 'zod';

export const PolicyIdSchema = z.string().min(1).describe('The policy id or name, e.g. "pol_01jd…" or "support-bot-loop".');

const GateInSchema = z.object({
  metric: z.string().min(1).describe('A metric evaluate_model measures, e.g. "rouge_l" or "perplexity".'),
  comparator: z.enum(['>=', '<=']).default('>=').describe('">=" for scores, "<=" for losses and perplexity.'),
  threshold: z.number().describe('The value to reach, e.g. 0.4.'),
});

/** The create tool's input: the fields of a policy (src/improvement/store.ts PolicySpecSchema checks them again). */
export const PolicyInput = {
  name: z.string().min(1).max(100).describe('Unique name, e.g. "support-bot-loop".'),
  source: z
    .union([
      z.object({ path: z.string().min(1).describe('A JSONL of {input, output, context?} rows that grows, e.g. "./prod-outputs.jsonl".') }).strict(),
      z
        .object({
          source: z.enum(['phoenix', 'otel-files']).describe('"phoenix" (Arize Phoenix over REST; scores are written back as span annotations) or "otel-files" (exported span files).'),
          query: z.record(z.string(), z.unknown()).describe('As extract_dataset takes it, e.g. {"project": "support-bot"} or {"path": "exports/spans.jsonl"}.'),
        })
        .strict(),
    ])
    .describe('Where production outputs come from, as judge_outputs takes it: {"path"} or {"source": "phoenix" | "otel-files", "query"}.'),
  rubric: z.string().min(1).describe('A named rubric (helpfulness, correctness, safety, faithfulness) or your own text, e.g. "helpfulness".'),
  rubric_name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional().describe('Name of your own rubric, e.g. "tone".'),
  judge: z.string().optional().describe('As judge_outputs takes it: "auto" (default), "endpoint" or a model reference.'),
  min_score: z.number().min(0).max(1).optional().describe('Rows scoring at least this join the pool; default 0.8.'),
  retrain_threshold: z.number().int().min(1).optional().describe('Pool rows that trigger one retraining; default 100.'),
  base_config_id: z.string().min(1).describe('The training config to copy (method, backend, hyperparameters); its dataset\'s rows come first, e.g. "cfg_01jd…".'),
  eval_dataset_id: z.string().min(1).describe('The fixed evaluation set both models are scored on, e.g. "ds_01jd…".'),
  model_name: z.string().min(1).max(100).describe('Registry name of the model the loop ships, e.g. "support-bot".'),
  gates: z.array(GateInSchema).optional().describe('Gates the new model must pass; default the config\'s evaluation.gates. It must also be no worse than the alias holder on each gated metric.'),
  promote_to: z.enum(['staging', 'production']).optional().describe('Alias to move; default "staging". "production" needs require_approval: false.'),
  require_approval: z.boolean().optional().describe('Default true: the loop stops at staging and a person promotes to production.'),
  interval_s: z.number().int().min(10).optional().describe('Under `serve`, run a cycle every this many seconds, e.g. 3600. Leave out to run only on demand (run_improvement_policy, `finetune-mcp improve`).'),
  max_rows_per_cycle: z.number().int().min(1).max(100_000).optional().describe('Most new rows one cycle judges; default 1000.'),
  eval_max_examples: z.number().int().min(1).optional().describe('Evaluate on at most this many rows of eval_dataset_id, e.g. 200.'),
};

const CycleSchema = z.object({
  cycle_id: z.string().describe('e.g. "cyc_01jd…".'),
  started_at: z.string().describe('ISO time.'),
  ended_at: z.string().nullable().describe('ISO time; null while running (or cut short by a crash).'),
  judge_run_id: z.string().nullable().describe('The judge run of its batch, e.g. "jrun_01jd…".'),
  judged: z.number().int().describe('Rows judged, e.g. 40.'),
  added: z.number().int().describe('Rows added to the pool, e.g. 31.'),
  dataset_id: z.string().nullable().describe('The retraining dataset version it cut, if any.'),
  job_id: z.string().nullable().describe('The retraining job it started, if any.'),
  evaluation_ids: z.array(z.string()).describe('Evaluations of the candidate and the alias holder, e.g. ["eval_…", "eval_…"].'),
  decision: z.string().nullable().describe('promoted, regression, held (registered; a gate the loop cannot measure waits for a person: the reason gives the promote_model call), retraining, waiting, pooled, nothing_new or failed.'),
  reason: z.string().nullable().describe('Why, e.g. "rouge_l 0.41 is worse than support-bot@1.2.0 (staging) 0.44".'),
  writeback: z
    .object({
      target: z.string().describe('Where the scores went, e.g. "phoenix:support-bot".'),
      written: z.number().int().describe('Span annotations written, e.g. 40.'),
      failed: z.number().int().describe('Scores not written, e.g. 0.'),
      error: z.string().nullable().describe('The first failure, or what stopped the write-back; null when all were written.'),
    })
    .nullable()
    .describe('Scores written back to the source as LLM span annotations (Phoenix sources); null when the source takes none.'),
});

export const PolicyViewSchema = z.object({
  policy_id: z.string().describe('e.g. "pol_01jd…".'),
  name: z.string().describe('e.g. "support-bot-loop".'),
  spec: z.record(z.string(), z.unknown()).describe('The policy as stored, defaults filled in.'),
  status: z.string().describe('"idle", "scheduled" or "retraining (job_…)".'),
  cursor: z.record(z.string(), z.unknown()).describe('Where reading resumes: {"lines": 120} for a file, {"start_time": "…", "seen_at_start_time": [...]} for Phoenix.'),
  next_run_at: z.string().nullable().describe('Next scheduled cycle (interval_s), or null.'),
  pool: z.object({ unused: z.number().int().describe('Rows waiting for the next retraining, e.g. 64.'), used: z.number().int().describe('Rows already trained on.') }).describe('The pool of rows scoring ≥ min_score.'),
  retrains: z
    .array(
      z.object({
        job_id: z.string().describe('e.g. "job_01jd…".'),
        cycle_id: z.string().describe('The cycle that started it.'),
        dataset_id: z.string().describe('The version it trains on.'),
        status: z.string().describe('training, promoted, regression, held or failed.'),
        version_id: z.string().nullable().describe('The registered version, when one was.'),
        reason: z.string().nullable().describe('The decision\'s reason.'),
      }),
    )
    .describe('Retraining jobs this policy started, oldest first.'),
  cycles: z.array(CycleSchema).describe('Cycles, oldest first (the newest up to the limit).'),
});
