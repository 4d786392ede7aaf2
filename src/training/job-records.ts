import type { TrainingConfigRecord } from '../plugins/providers.js';

/** Job states, the one table of legal moves between them, and the shapes of the ledger's records. */

export const JOB_STATUSES = ['queued', 'preparing', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

const TERMINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];
export const ACTIVE_STATUSES: readonly JobStatus[] = ['preparing', 'running'];

/**
 * The one table of legal transitions. Resume moves a stopped job back to `queued` (a new attempt
 * on the same job id, continuing from a checkpoint); `succeeded` is final.
 */
export const LEGAL_TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  queued: ['preparing', 'running', 'failed', 'cancelled'],
  preparing: ['running', 'succeeded', 'failed', 'cancelled', 'interrupted'],
  running: ['succeeded', 'failed', 'cancelled', 'interrupted'],
  interrupted: ['queued', 'failed', 'cancelled'],
  failed: ['queued'],
  cancelled: ['queued'],
  succeeded: [],
};

export function isJobStatus(value: string): value is JobStatus {
  return (JOB_STATUSES as readonly string[]).includes(value);
}

export function isLegalTransition(from: JobStatus, to: JobStatus): boolean {
  return LEGAL_TRANSITIONS[from].includes(to);
}

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** Guardrails that watch the loss series; each either stops the job or only warns. */
export interface Guardrails {
  /** NaN or infinite loss. */
  on_nan: 'stop' | 'warn';
  /** Smoothed loss above `explode_factor` × its best smoothed value, and above it by more than the margin, diverges; 0 = off. */
  explode_factor: number;
  /** The absolute rise that counts, in loss units; default by method (sft 1, dpo ln 2). */
  explode_margin?: number;
  on_explode: 'stop' | 'warn';
  /** The rules look at the median of this many last steps of the loss and gradient norm. */
  smoothing_steps: number;
  /** Smoothed gradient norm above this × the median of recent norms is a spike; 0 = off. */
  grad_spike_factor: number;
  on_grad_spike: 'stop' | 'warn';
  /** Eval loss rising this many evals in a row; 0 = off. */
  eval_rising_k: number;
  on_eval_rising: 'stop' | 'warn';
}

/** What a job is allowed to spend and how it is watched; frozen on the job when it is created. */
export interface JobPolicy {
  max_cost_usd?: number;
  max_runtime_s?: number;
  /** Estimated spend rate, from the plan's estimate, used when the backend reports no cost itself. */
  cost_usd_per_s?: number;
  /** Budget fractions that emit a warning event once each. */
  warn_at: number[];
  webhook_url?: string;
  guardrails: Guardrails;
  /** Resume an interrupted job automatically when a server starts. */
  auto_resume: boolean;
}

export interface StoredConfig extends TrainingConfigRecord {
  policy: Omit<JobPolicy, 'cost_usd_per_s'>;
  parent_config_id: string | null;
  created_at: string;
}

export interface PlanRecord {
  plan_id: string;
  config_id: string;
  verdict: 'go' | 'no_go';
  reasons: string[];
  estimate: Record<string, unknown>;
  validation: Array<{ severity: 'error' | 'warning'; code: string; field?: string; message: string }>;
  budget: { max_cost_usd?: number; max_runtime_s?: number };
  created_at: string;
}

export interface JobRecord {
  job_id: string;
  config_id: string;
  plan_id: string | null;
  backend: string;
  status: JobStatus;
  policy: JobPolicy;
  step: number;
  total_steps: number;
  epoch: number;
  attempt: number;
  resume_from: string | null;
  error_code: string | null;
  error_message: string | null;
  worker_pid: number | null;
  /** The worker's start identity (src/training/process-identity.ts), to tell it from a later process with its pid. */
  worker_start: string | null;
  remote_id: string | null;
  cancel_requested_at: string | null;
  stop_code: string | null;
  stop_reason: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** Seconds spent running in earlier attempts (budgets count running time, not idle time between attempts). */
  run_seconds: number;
  /** When the current attempt began running; null when the job is not running. */
  attempt_started_at: string | null;
}

/** Seconds the job has spent running over all its attempts, up to `nowMs`. */
export function runningSeconds(job: Pick<JobRecord, 'run_seconds' | 'attempt_started_at'>, nowMs = Date.now()): number {
  const current = job.attempt_started_at ? Math.max(0, (nowMs - Date.parse(job.attempt_started_at)) / 1000) : 0;
  return (job.run_seconds ?? 0) + current;
}

export interface JobEvent {
  seq: number;
  job_id: string;
  time: string;
  type: string;
  level: 'info' | 'warning' | 'error';
  message: string;
  data?: Record<string, unknown>;
}

export interface MetricPoint {
  name: string;
  step: number;
  value: number;
  time: string;
}

export interface CheckpointRecord {
  step: number;
  path: string;
  metrics?: Record<string, number>;
  created_at: string;
}

export interface ArtifactRecord {
  id: number;
  kind: string;
  path?: string;
  uri?: string;
  meta?: Record<string, unknown>;
  created_at: string;
}

export interface TransitionDetail {
  message?: string;
  error_code?: string;
  remote_id?: string;
}

export interface JobFilter {
  status?: JobStatus | JobStatus[];
  backend?: string;
  config_id?: string;
  limit?: number;
  offset?: number;
}
