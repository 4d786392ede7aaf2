import { signalWorker } from './cancel-signal.js';
import type { JobLedger, JobRecord } from './ledger.js';
import { postWebhook } from './webhook.js';

/**
 * Budgets and guardrails, checked where numbers arrive (the ledger sink, in whichever process runs
 * the job) and on the server's watch loop (for a job that has gone quiet). A stop is a request:
 * the job's row is flagged with a stop code and its worker gets SIGTERM; the backend then ends the
 * job, which the ledger records as `failed` with that code.
 */

const LOSS_NAMES = new Set(['loss', 'train_loss', 'eval_loss']);

export function checkMetricPolicies(ledger: JobLedger, job_id: string, name: string, step: number, value: number): void {
  if (!LOSS_NAMES.has(name)) return;
  const job = ledger.get(job_id);
  if (job.status !== 'running' && job.status !== 'preparing') return;
  const { guardrails } = job.policy;
  if (!Number.isFinite(value)) {
    trip(ledger, job, 'nan_loss', guardrails.on_nan, `${name} became ${value} at step ${step}.`, { metric: name, step });
    return;
  }
  if (name !== 'eval_loss' && guardrails.explode_factor > 0) {
    const { floor, n } = ledger.stmt('SELECT MIN(value) AS floor, COUNT(*) AS n FROM job_metrics WHERE job_id = ? AND name = ? AND value IS NOT NULL AND step < ?')
      .get(job_id, name, step) as { floor: number | null; n: number };
    if (n >= 2 && floor !== null && floor > 0 && value > guardrails.explode_factor * floor) {
      trip(ledger, job, 'exploding_loss', guardrails.on_explode, `${name} ${value.toFixed(4)} at step ${step} is over ${guardrails.explode_factor}× its lowest value ${floor.toFixed(4)}.`, {
        metric: name,
        step,
      });
      return;
    }
  }
  const k = guardrails.eval_rising_k;
  if (name === 'eval_loss' && k > 0) {
    const tail = (ledger.stmt(`SELECT value FROM job_metrics WHERE job_id = ? AND name = 'eval_loss' ORDER BY step DESC LIMIT ?`).pluck().all(job_id, k + 1) as Array<number | null>).reverse();
    const rising = tail.length === k + 1 && tail.every((v, i) => v !== null && (i === 0 || v > (tail[i - 1] as number)));
    if (rising) {
      trip(ledger, job, 'eval_loss_rising', guardrails.on_eval_rising, `eval_loss rose ${k} evals in a row (${tail.map((v) => (v as number).toFixed(4)).join(' → ')}): over-fitting.`, { step });
    }
  }
}

/** Runtime and cost budgets: warnings at each threshold once, a stop at 100 %. */
export function checkRuntimePolicies(ledger: JobLedger, job_id: string, nowMs = Date.now()): void {
  const job = ledger.get(job_id);
  if (!job.policy.max_runtime_s && !job.policy.max_cost_usd) return;
  if (job.status !== 'running' || !job.started_at || job.cancel_requested_at) return;
  const elapsed_s = (nowMs - Date.parse(job.started_at)) / 1000;
  const budgets: Array<{ budget: 'runtime' | 'cost'; used: number; limit: number; unit: string; code: string }> = [];
  if (job.policy.max_runtime_s) budgets.push({ budget: 'runtime', used: elapsed_s, limit: job.policy.max_runtime_s, unit: 's', code: 'TIMEOUT' });
  if (job.policy.max_cost_usd) {
    const reported = ledger.stmt(`SELECT value FROM job_metrics WHERE job_id = ? AND name = 'cost_usd' ORDER BY step DESC LIMIT 1`).pluck().get(job_id) as number | null | undefined;
    const cost = typeof reported === 'number' ? reported : (job.policy.cost_usd_per_s ?? 0) * elapsed_s;
    budgets.push({ budget: 'cost', used: cost, limit: job.policy.max_cost_usd, unit: 'USD', code: 'BUDGET_EXCEEDED' });
  }
  for (const b of budgets) {
    const fraction = b.used / b.limit;
    for (const threshold of [...job.policy.warn_at].sort((x, y) => x - y)) {
      if (fraction < threshold || ledger.hasEvent(job_id, 'budget_warning', 'key', `${b.budget}:${threshold}`)) continue;
      const message = `${b.budget} budget ${Math.round(threshold * 100)} % used (${b.used.toFixed(2)} of ${b.limit} ${b.unit}).`;
      const data = { key: `${b.budget}:${threshold}`, budget: b.budget, threshold, used: b.used, limit: b.limit };
      ledger.appendEvent(job_id, 'budget_warning', message, data, 'warning');
      postWebhook(job.policy.webhook_url, { job_id, event: 'budget_warning', message, ...data });
    }
    if (fraction >= 1) {
      const message = `Stopped: the ${b.budget} budget of ${b.limit} ${b.unit} is used up (${b.used.toFixed(2)} ${b.unit}).`;
      ledger.appendEvent(job_id, 'budget_exceeded', message, { budget: b.budget, used: b.used, limit: b.limit }, 'error');
      stop(ledger, job, b.code, message);
      postWebhook(job.policy.webhook_url, { job_id, event: 'budget_exceeded', message, budget: b.budget });
      return;
    }
  }
}

function trip(ledger: JobLedger, job: JobRecord, rule: string, action: 'stop' | 'warn', message: string, data: Record<string, unknown>): void {
  if (action === 'warn') {
    if (ledger.hasEvent(job.job_id, 'guardrail_warning', 'rule', rule)) return;
    ledger.appendEvent(job.job_id, 'guardrail_warning', `Guardrail ${rule}: ${message}`, { rule, ...data }, 'warning');
    postWebhook(job.policy.webhook_url, { job_id: job.job_id, event: 'guardrail_warning', rule, message });
    return;
  }
  if (job.cancel_requested_at) return;
  const text = `Stopped by guardrail ${rule}: ${message}`;
  ledger.appendEvent(job.job_id, 'guardrail_stop', text, { rule, ...data }, 'error');
  stop(ledger, job, 'TRAINING_DIVERGED', text);
  postWebhook(job.policy.webhook_url, { job_id: job.job_id, event: 'guardrail_stop', rule, message: text });
}

function stop(ledger: JobLedger, job: JobRecord, code: string, reason: string): void {
  const flagged = ledger.requestStop(job.job_id, { code, reason });
  signalWorker(flagged.worker_pid);
}
