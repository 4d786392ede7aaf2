import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../errors.js';
import { JOB_STATUSES, runningSeconds, type JobLedger, type JobRecord } from './ledger.js';
import { jobAlerts } from './webhook.js';

/** Shapes the tools and resources show for a job; shared so list, monitor and resources agree. */

export const JobSummarySchema = z.object({
  job_id: z.string().describe('Job id, e.g. "job_01hx…".'),
  status: z.enum(JOB_STATUSES).describe('queued, preparing, running, succeeded, failed, cancelled or interrupted.'),
  backend: z.string().describe('Backend that runs it, e.g. "local".'),
  config_id: z.string().describe('The frozen config, e.g. "cfg_01hx…".'),
  plan_id: z.string().nullable().describe('The pre-flight plan it started from, or null.'),
  step: z.number().describe('Optimizer steps done, e.g. 120.'),
  total_steps: z.number().describe('Planned optimizer steps (0 = unknown), e.g. 300.'),
  epoch: z.number().describe('Epochs done (fractional), e.g. 1.25.'),
  attempt: z.number().describe('1 for the first run, +1 per resume.'),
  error_code: z.string().nullable().describe('Stable failure code when failed/cancelled, e.g. "OUT_OF_MEMORY".'),
  error_message: z.string().nullable().describe('What went wrong.'),
  recovery: z.string().optional().describe('What to do next about the failure.'),
  worker_pid: z.number().nullable().describe('Process that runs the job (a local worker) or follows it (the server polling a remote job), e.g. 41233.'),
  remote_id: z.string().nullable().describe("The backend's own job id (remote jobs), e.g. \"ftjob-abc123\"."),
  created_at: z.string().describe('ISO time the job was created.'),
  started_at: z.string().nullable().describe('ISO time it started running.'),
  finished_at: z.string().nullable().describe('ISO time it ended.'),
});
type JobSummary = z.infer<typeof JobSummarySchema>;

export function summarizeJob(job: JobRecord): JobSummary {
  const code = job.error_code as ErrorCode | null;
  return {
    job_id: job.job_id,
    status: job.status,
    backend: job.backend,
    config_id: job.config_id,
    plan_id: job.plan_id,
    step: job.step,
    total_steps: job.total_steps,
    epoch: job.epoch,
    attempt: job.attempt,
    error_code: job.error_code,
    error_message: job.error_message,
    ...(code && code in ERROR_CODES ? { recovery: ERROR_CODES[code].recovery } : job.status === 'interrupted' ? { recovery: 'Call resume_training to continue from the last checkpoint.' } : {}),
    worker_pid: job.worker_pid,
    remote_id: job.remote_id,
    created_at: job.created_at,
    started_at: job.started_at,
    finished_at: job.finished_at,
  };
}

/** Seconds left, from the pace so far (steps per second of running time). */
export function etaSeconds(job: JobRecord, nowMs = Date.now()): number | null {
  if (job.status !== 'running' || !job.started_at || job.step <= 0 || job.total_steps <= job.step) return null;
  const elapsed = runningSeconds(job, nowMs);
  return Math.round((elapsed / job.step) * (job.total_steps - job.step));
}

/**
 * The lowest eval loss of a trained step so far, and its step: the trainer's own account of the best
 * (step 0 is the base model before training, which has no checkpoint to ship).
 */
export function bestEval(ledger: JobLedger, job_id: string): { step: number; eval_loss: number } | null {
  const series = ledger.metricSeries(job_id, 'eval_loss').filter((p) => p.step > 0 && Number.isFinite(p.value));
  if (!series.length) return null;
  const best = series.reduce((a, b) => (b.value < a.value ? b : a));
  return { step: best.step, eval_loss: best.value };
}

export const AlertSummarySchema = z.object({
  alert_id: z.number().describe('Alert id, also in the POSTed body (receivers dedupe on it), e.g. 12.'),
  event: z.string().describe('budget_warning, budget_exceeded, guardrail_warning, guardrail_stop or job_ended.'),
  status: z.enum(['pending', 'delivered', 'failed']).describe('delivered; pending (retried with backoff); failed (given up after the last attempt).'),
  attempts: z.number().describe('POSTs tried so far, e.g. 2.'),
  last_error: z.string().nullable().describe('Why the last attempt failed, e.g. "HTTP 503" or "ECONNREFUSED"; null if none failed.'),
  delivered_at: z.string().nullable().describe('ISO time of delivery, or null.'),
});

/** The job's webhook alerts, for monitor_training (the full attempt log is in the job resource). */
function alertSummaries(ledger: JobLedger, job_id: string): Array<z.infer<typeof AlertSummarySchema>> {
  return jobAlerts(ledger.db, job_id).map(({ alert_id, event, status, attempts, last_error, delivered_at }) => ({ alert_id, event, status, attempts, last_error, delivered_at }));
}

/** What monitor_training shows of a job besides its summary: metrics, best eval, events after a cursor, checkpoints, artifacts, alerts. */
export function jobProgress(ledger: JobLedger, job: JobRecord, events: { cursor: number; limit: number }) {
  const { job_id } = job;
  const { events: list, next_cursor } = ledger.eventsSince(job_id, events.cursor, events.limit);
  return {
    metrics: Object.fromEntries(Object.entries(ledger.latestMetrics(job_id)).map(([k, v]) => [k, { step: v.step, value: Number.isFinite(v.value) ? v.value : null }])),
    best_eval: bestEval(ledger, job_id),
    events: list.map(({ job_id: _j, ...e }) => e),
    next_cursor,
    checkpoints: ledger.checkpoints(job_id).map(({ step, path, created_at }) => ({ step, path, created_at })),
    artifacts: ledger.artifacts(job_id).map(({ kind, path, uri }) => ({ kind, ...(path ? { path } : {}), ...(uri ? { uri } : {}) })),
    ...(job.policy.webhook_url ? { alerts: alertSummaries(ledger, job_id) } : {}),
  };
}

/** Everything a resource reader wants about one job. */
export function jobDocument(ledger: JobLedger, job_id: string): Record<string, unknown> {
  const job = ledger.get(job_id);
  return {
    ...summarizeJob(job),
    eta_s: etaSeconds(job),
    run_s: runningSeconds(job),
    metrics: ledger.latestMetrics(job_id),
    best_eval: bestEval(ledger, job_id),
    checkpoints: ledger.checkpoints(job_id),
    artifacts: ledger.artifacts(job_id),
    policy: job.policy,
    // Webhook alerts with every delivery attempt (time, HTTP status or error, process).
    alerts: jobAlerts(ledger.db, job_id).map(({ payload: _payload, url: _url, ...alert }) => alert),
  };
}
