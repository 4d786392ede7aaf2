import { createRequire } from 'node:module';
import type { Counter, Histogram, Gauge, Registry } from 'prom-client';

// prom-client loads when the metrics are first created (services.metrics is lazy), not at start-up.
const require = createRequire(import.meta.url);

/** Prometheus metrics for `/metrics`; one registry per process so tests stay isolated. */
export interface Metrics {
  registry: Registry;
  tool_calls: Counter<'tool' | 'outcome'>;
  runs_total: Counter<'backend' | 'status'>;
  run_duration: Histogram<'backend'>;
  running_jobs: Gauge<'backend'>;
  /** Jobs stopped because a budget (runtime, cost) was used up, by backend and budget. */
  budget_exceeded: Counter<'backend' | 'budget'>;
  job_tokens_per_second: Gauge<'job_id'>;
  /** Open MCP sessions of the HTTP transport (set at each scrape). */
  http_sessions: Gauge;
  /** judge_outputs: each score given, by rubric name, source (dataset, file, phoenix) and improvement policy ("none" when called alone). */
  judge_scores: Histogram<'rubric' | 'source' | 'policy'>;
  /** judge_outputs: rows judged, by outcome (scored, failed): the judge failure rate is failed / all. */
  judged_outputs: Counter<'rubric' | 'source' | 'policy' | 'outcome'>;
  /** Tokens the judge read and wrote, by judge and kind (prompt, completion). */
  judge_tokens: Counter<'judge' | 'kind'>;
  /** What the judge cost, by judge, where its price is known. */
  judge_cost_usd: Counter<'judge'>;
  /** Improvement policies: rows in the pool not yet used by a retraining, per policy. */
  improvement_pool_size: Gauge<'policy'>;
  /** Cycles run, by policy and decision (promoted, regression, waiting, pooled, retraining, nothing_new, failed). */
  improvement_cycles: Counter<'policy' | 'decision'>;
  improvement_retrains: Counter<'policy'>;
  improvement_promotions: Counter<'policy'>;
  improvement_regressions: Counter<'policy'>;
  /** The OpenAI-compatible endpoint (/v1): seconds from request to last byte, by model and route. */
  serving_latency: Histogram<'model' | 'route'>;
  /** Tokens read (prompt) and written (completion) by the endpoint, by model. */
  serving_tokens: Counter<'model' | 'kind'>;
  /** Requests answered with an error, by model and OpenAI error code (e.g. model_not_found, rate_limit_exceeded). */
  serving_errors: Counter<'model' | 'code'>;
  /** Requests waiting for the engine (set at each scrape). */
  serving_queued: Gauge;
}

export function createMetrics(): Metrics {
  const { Counter, Histogram, Gauge, Registry, collectDefaultMetrics } = require('prom-client') as typeof import('prom-client');
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'finetune_mcp_' });
  return {
    registry,
    tool_calls: new Counter({ name: 'finetune_mcp_tool_calls_total', help: 'Tool calls by tool and outcome (ok, error).', labelNames: ['tool', 'outcome'], registers: [registry] }),
    runs_total: new Counter({ name: 'finetuning_runs_total', help: 'Training runs that ended, by backend and final status.', labelNames: ['backend', 'status'], registers: [registry] }),
    run_duration: new Histogram({
      name: 'finetuning_duration_seconds',
      help: 'Wall time of finished training runs.',
      labelNames: ['backend'],
      buckets: [10, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 48 * 3600],
      registers: [registry],
    }),
    running_jobs: new Gauge({ name: 'finetuning_running_jobs', help: 'Jobs running now, by backend.', labelNames: ['backend'], registers: [registry] }),
    budget_exceeded: new Counter({ name: 'finetuning_budget_exceeded_total', help: 'Training jobs stopped because a budget (runtime or cost) was used up.', labelNames: ['backend', 'budget'], registers: [registry] }),
    job_tokens_per_second: new Gauge({ name: 'finetuning_tokens_per_second', help: 'Latest training throughput per running job.', labelNames: ['job_id'], registers: [registry] }),
    http_sessions: new Gauge({ name: 'finetune_mcp_http_sessions', help: 'Open MCP sessions of the HTTP transport.', registers: [registry] }),
    judge_scores: new Histogram({
      name: 'finetune_mcp_judge_score',
      help: 'Scores (0-1) given by the LLM judge of judge_outputs, by rubric, source and improvement policy (policy="none": judge_outputs called alone).',
      labelNames: ['rubric', 'source', 'policy'],
      buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
      registers: [registry],
    }),
    judged_outputs: new Counter({ name: 'finetune_mcp_judged_outputs_total', help: 'Outputs judged by judge_outputs, by rubric, source, improvement policy ("none" alone) and outcome (scored, failed).', labelNames: ['rubric', 'source', 'policy', 'outcome'], registers: [registry] }),
    judge_tokens: new Counter({ name: 'finetune_mcp_judge_tokens_total', help: 'Tokens read (prompt) and written (completion) by the LLM judge.', labelNames: ['judge', 'kind'], registers: [registry] }),
    judge_cost_usd: new Counter({ name: 'finetune_mcp_judge_cost_usd_total', help: 'Cost of the LLM judge in US dollars, where its price is configured.', labelNames: ['judge'], registers: [registry] }),
    improvement_pool_size: new Gauge({ name: 'finetune_mcp_improvement_pool_size', help: 'Judged rows waiting in an improvement policy\'s pool (not yet used by a retraining).', labelNames: ['policy'], registers: [registry] }),
    improvement_cycles: new Counter({ name: 'finetune_mcp_improvement_cycles_total', help: 'Improvement policy cycles, by policy and decision.', labelNames: ['policy', 'decision'], registers: [registry] }),
    improvement_retrains: new Counter({ name: 'finetune_mcp_improvement_retrains_total', help: 'Retraining jobs started by improvement policies.', labelNames: ['policy'], registers: [registry] }),
    improvement_promotions: new Counter({ name: 'finetune_mcp_improvement_promotions_total', help: 'Retrained models promoted by improvement policies.', labelNames: ['policy'], registers: [registry] }),
    serving_latency: new Histogram({
      name: 'finetune_mcp_serving_request_duration_seconds',
      help: 'Latency of the OpenAI-compatible endpoint (/v1), from request to last byte, by model and route.',
      labelNames: ['model', 'route'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    serving_tokens: new Counter({ name: 'finetune_mcp_serving_tokens_total', help: 'Tokens read (prompt) and written (completion) by the OpenAI-compatible endpoint, by model.', labelNames: ['model', 'kind'], registers: [registry] }),
    serving_errors: new Counter({ name: 'finetune_mcp_serving_errors_total', help: 'OpenAI-compatible endpoint requests answered with an error, by model and error code.', labelNames: ['model', 'code'], registers: [registry] }),
    serving_queued: new Gauge({ name: 'finetune_mcp_serving_queued_requests', help: 'OpenAI-compatible endpoint requests waiting for the engine.', registers: [registry] }),
    improvement_regressions: new Counter({ name: 'finetune_mcp_improvement_regressions_total', help: 'Retrained models not promoted (failed a gate or worse than the alias holder).', labelNames: ['policy'], registers: [registry] }),
  };
}
