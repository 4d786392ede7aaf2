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

export function checkMetricPolicies(ledger: JobLedger, job_id: string, name: string): void {
  if (!LOSS_NAMES.has(name)) return;
  const job = ledger.get(job_id);
  if (job.status !== 'running' && job.status !== 'preparing') return;
  const { guardrails } = job.policy;
  const series = ledger.metricSeries(job_id, name);
  const latest = series[series.length - 1];
  if (!latest) return;
  if (!Number.isFinite(latest.value)) {
    trip(ledger, job, 'nan_loss', guardrails.on_nan, `${name} became ${latest.value} at step ${latest.step}.`, { metric: name, step: latest.step });
    return;
  }
  if (name !== 'eval_loss' && guardrails.explode_factor > 0 && series.length >= 3) {
    const floor = Math.min(...series.slice(0, -1).map((p) => p.value).filter(Number.isFinite));
    if (floor > 0 && latest.value > guardrails.explode_factor * floor) {
      trip(ledger, job, 'exploding_loss', guardrails.on_explode, `${name} ${latest.value.toFixed(4)} at step ${latest.step} is over ${guardrails.explode_factor}× its lowest value ${floor.toFixed(4)}.`, {
        metric: name,
        step: latest.step,
      });
      return;
    }
  }
  if (name === 'eval_loss' && guardrails.eval_rising_k > 0 && series.length > guardrails.eval_rising_k) {
    const tail = series.slice(-(guardrails.eval_rising_k + 1)).map((p) => p.value);
    const rising = tail.every((v, i) => i === 0 || v > tail[i - 1]);
    if (rising) {
      trip(ledger, job, 'eval_loss_rising', guardrails.on_eval_rising, `eval_loss rose ${guardrails.eval_rising_k} evals in a row (${tail.map((v) => v.toFixed(4)).join(' → ')}): over-fitting.`, {
        step: latest.step,
      });
    }
  }
}

/** Runtime and cost budgets: warnings at each threshold once, a stop at 100 %. */
export function checkRuntimePolicies(ledger: JobLedger, job_id: string, nowMs = Date.now()): void {
  const job = ledger.get(job_id);
  if (job.status !== 'running' || !job.started_at || job.cancel_requested_at) return;
  const elapsed_s = (nowMs - Date.parse(job.started_at)) / 1000;
  const budgets: Array<{ budget: 'runtime' | 'cost'; used: number; limit: number; unit: string; code: string }> = [];
  if (job.policy.max_runtime_s) budgets.push({ budget: 'runtime', used: elapsed_s, limit: job.policy.max_runtime_s, unit: 's', code: 'TIMEOUT' });
  if (job.policy.max_cost_usd) {
    const reported = ledger.latestMetrics(job_id).cost_usd?.value;
    const cost = Number.isFinite(reported) ? (reported as number) : (job.policy.cost_usd_per_s ?? 0) * elapsed_s;
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
