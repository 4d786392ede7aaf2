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
  job_tokens_per_second: Gauge<'job_id'>;
  /** Open MCP sessions of the HTTP transport (set at each scrape). */
  http_sessions: Gauge;
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
    job_tokens_per_second: new Gauge({ name: 'finetuning_tokens_per_second', help: 'Latest training throughput per running job.', labelNames: ['job_id'], registers: [registry] }),
    http_sessions: new Gauge({ name: 'finetune_mcp_http_sessions', help: 'Open MCP sessions of the HTTP transport.', registers: [registry] }),
  };
}
