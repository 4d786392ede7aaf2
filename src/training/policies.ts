import { signalWorker } from './cancel-signal.js';
import { GuardrailsSchema } from './config-schema.js';
import { DivergenceWatch } from './divergence.js';
import { runningSeconds, type Guardrails, type JobLedger, type JobRecord } from './ledger.js';

/**
 * Budgets and guardrails, checked where numbers arrive (the ledger sink, in whichever process runs
 * the job) and on the server's watch loop (for a job that has gone quiet). A stop is a request:
 * the job's row is flagged with a stop code and its worker gets SIGTERM; the backend then ends the
 * job, which the ledger records as `failed` with that code.
 */

const LOSS_NAMES = new Set(['loss', 'train_loss']);

/**
 * The metric guardrails of one job, for the sink that receives its numbers: NaN/inf, a diverging
 * smoothed loss and gradient-norm spikes (rules in divergence.ts, at the scale of the config's
 * method), and eval loss rising K evals in a row. The smoothing state lives here; a resumed job's
 * earlier points are replayed from the ledger on first use.
 */
export function createMetricPolicies(ledger: JobLedger, job_id: string): (name: string, step: number, value: number) => void {
  let watching: { watch: DivergenceWatch; guardrails: Guardrails } | undefined;
  const start = (job: JobRecord, step: number) => {
    // A job frozen before a guardrail setting existed gets that setting's default.
    const guardrails = GuardrailsSchema.parse(job.policy.guardrails ?? {}) as Guardrails;
    const watch = new DivergenceWatch(ledger.getConfig(job.config_id).method, guardrails);
    for (const name of [...LOSS_NAMES, 'grad_norm']) {
      const earlier = ledger.stmt('SELECT step, value FROM job_metrics WHERE job_id = ? AND name = ? AND step < ? AND value IS NOT NULL ORDER BY step, rowid').all(job_id, name, step) as Array<{ step: number; value: number }>;
      for (const [s, v] of new Map(earlier.map((p) => [p.step, p.value]))) void (name === 'grad_norm' ? watch.gradNorm(s, v) : watch.loss(name, s, v));
    }
    return { watch, guardrails };
  };
  return (name, step, value) => {
    if (!LOSS_NAMES.has(name) && name !== 'grad_norm' && name !== 'eval_loss') return;
    const job = ledger.get(job_id);
    if (job.status !== 'running' && job.status !== 'preparing') return;
    watching ??= start(job, step);
    const { watch, guardrails } = watching;
    if (name === 'eval_loss') {
      if (!Number.isFinite(value)) trip(ledger, job, 'nan_loss', guardrails.on_nan, `${name} became ${value} at step ${step}.`, { metric: name, step });
      else checkEvalRising(ledger, job, guardrails, watch.margin, step);
      return;
    }
    const tripped = name === 'grad_norm' ? watch.gradNorm(step, value) : watch.loss(name, step, value);
    if (!tripped) return;
    const action = { nan_loss: guardrails.on_nan, exploding_loss: guardrails.on_explode, grad_norm_spike: guardrails.on_grad_spike }[tripped.rule];
    trip(ledger, job, tripped.rule, action, tripped.message, tripped.data);
  };
}

function checkEvalRising(ledger: JobLedger, job: JobRecord, guardrails: Guardrails, margin: number, step: number): void {
  const k = guardrails.eval_rising_k;
  if (k <= 0) return;
  const tail = (ledger.stmt(`SELECT value FROM job_metrics WHERE job_id = ? AND name = 'eval_loss' ORDER BY step DESC LIMIT ?`).pluck().all(job.job_id, k + 1) as Array<number | null>).reverse();
  const rising = tail.length === k + 1 && tail.every((v, i) => v !== null && (i === 0 || v > (tail[i - 1] as number)));
  // Near zero every rise is many-fold: it must also be worth 5 % of the method's margin (sft 0.05 nat, dpo 0.035).
  if (rising && (tail[k] as number) - (tail[0] as number) > 0.05 * margin) {
    trip(ledger, job, 'eval_loss_rising', guardrails.on_eval_rising, `eval_loss rose ${k} evals in a row (${tail.map((v) => (v as number).toFixed(4)).join(' → ')}): over-fitting.`, { step });
  }
}

/** Runtime and cost budgets: warnings at each threshold once, a stop at 100 %. */
export function checkRuntimePolicies(ledger: JobLedger, job_id: string, nowMs = Date.now()): void {
  const job = ledger.get(job_id);
  if (!job.policy.max_runtime_s && !job.policy.max_cost_usd) return;
  if (job.status !== 'running' || !job.started_at || job.cancel_requested_at) return;
  const elapsed_s = runningSeconds(job, nowMs); // time spent running, over all attempts (not idle time between them)
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
      // Keyed by the limit too: a budget raised on resume warns again at its own thresholds.
      if (fraction < threshold) continue;
      const message = `${b.budget} budget ${Math.round(threshold * 100)} % used (${b.used.toFixed(2)} of ${b.limit} ${b.unit}).`;
      const data = { key: `${b.budget}:${threshold}@${b.limit}`, budget: b.budget, threshold, used: b.used, limit: b.limit };
      ledger.appendEventOnce(job_id, 'budget_warning', 'key', message, data, 'warning');
    }
    if (fraction >= 1) {
      const message = `Stopped: the ${b.budget} budget of ${b.limit} ${b.unit} is used up (${b.used.toFixed(2)} ${b.unit}).`;
      ledger.appendEvent(job_id, 'budget_exceeded', message, { budget: b.budget, used: b.used, limit: b.limit }, 'error');
      stop(ledger, job, b.code, message);
      return;
    }
  }
}

function trip(ledger: JobLedger, job: JobRecord, rule: string, action: 'stop' | 'warn', message: string, data: Record<string, unknown>): void {
  if (action === 'warn') {
    ledger.appendEventOnce(job.job_id, 'guardrail_warning', 'rule', `Guardrail ${rule}: ${message}`, { ...data, rule }, 'warning');
    return;
  }
  if (job.cancel_requested_at) return;
  const text = `Stopped by guardrail ${rule}: ${message}`;
  ledger.appendEvent(job.job_id, 'guardrail_stop', text, { rule, ...data }, 'error');
  stop(ledger, job, 'TRAINING_DIVERGED', text);
}

function stop(ledger: JobLedger, job: JobRecord, code: string, reason: string): void {
  const flagged = ledger.requestStop(job.job_id, { code, reason });
  signalWorker(flagged);
}
