import { ERROR_CODES } from '../errors.js';
import type { JobSink } from '../plugins/providers.js';
import type { Workspace } from '../workspace/workspace.js';
import { isJobStatus, isTerminal, JobLedger } from './ledger.js';
import { checkRuntimePolicies, createMetricPolicies } from './policies.js';

interface LedgerSinkOptions {
  /** Called after every write, e.g. to wake watchers in the same process. */
  onChange?: (job_id: string) => void;
}

/**
 * A JobSink that writes straight into the workspace's SQLite ledger. A detached worker process
 * opens the workspace by `home` and reports through this; any server process reads the same rows.
 * Budgets and guardrails are checked here, where the numbers arrive, so they hold even when no
 * server is running.
 */
export function createLedgerSink(workspace: Workspace, job_id: string, options: LedgerSinkOptions = {}): JobSink {
  const ledger = new JobLedger(workspace.db);
  ledger.get(job_id); // fail early on an unknown job
  const changed = () => options.onChange?.(job_id);
  const checkMetric = createMetricPolicies(ledger, job_id);
  // Time budgets need no per-point precision: look at the clock at most every 250 ms (cost reports at once).
  let lastRuntimeCheck = 0;
  const runtimeCheck = (force = false) => {
    const now = Date.now();
    if (!force && now - lastRuntimeCheck < 250) return;
    lastRuntimeCheck = now;
    checkRuntimePolicies(ledger, job_id, now);
  };
  return {
    event(type, message, data) {
      const level = type === 'warning' || type.endsWith('_warning') ? 'warning' : type === 'error' ? 'error' : 'info';
      ledger.appendEvent(job_id, type, message, data, level);
      if (data && typeof data.total_steps === 'number') ledger.update(job_id, { total_steps: data.total_steps });
      runtimeCheck();
      changed();
    },
    metric(name, step, value) {
      ledger.addMetric(job_id, name, step, value);
      checkMetric(name, step, value);
      runtimeCheck(name === 'cost_usd');
      changed();
    },
    checkpoint(checkpoint) {
      ledger.addCheckpoint(job_id, checkpoint);
      changed();
    },
    artifact(artifact) {
      ledger.addArtifact(job_id, artifact);
      changed();
    },
    status(state, detail = {}) {
      if (!isJobStatus(state)) {
        ledger.appendEvent(job_id, 'error', `Backend reported an unknown status '${state}'; ignored.`, { state }, 'error');
        changed();
        return;
      }
      const job = ledger.get(job_id);
      if (detail.remote_id) ledger.update(job_id, { remote_id: detail.remote_id });
      if (job.status === state) return;
      // A job already ended (e.g. cancelled by the server while the worker finished a step) keeps its end.
      if (isTerminal(job.status) && isTerminal(state)) {
        ledger.appendEvent(job_id, 'late_status', `Backend reported '${state}' after the job had ended as '${job.status}'; kept '${job.status}'.`, { state });
        changed();
        return;
      }
      // A terminal move queues the job_ended alert in the ledger (webhook outbox), with the status event.
      ledger.transition(job_id, state, state === 'failed' ? withKnownCode(detail) : detail);
      changed();
    },
  };
}

/**
 * A failed job always carries a code from the closed set, so the agent knows what to do next: a
 * backend's own code outside the set becomes UPSTREAM_ERROR (the original kept in the message),
 * and a failure without any code is INTERNAL (the backend did not say why).
 */
function withKnownCode(detail: { message?: string; error_code?: string; remote_id?: string }): typeof detail {
  const code = detail.error_code;
  if (code && code in ERROR_CODES) return detail;
  if (!code) return { ...detail, error_code: 'INTERNAL', message: detail.message ?? 'The backend reported a failure without a reason.' };
  return { ...detail, error_code: 'UPSTREAM_ERROR', message: `(backend code ${code}) ${detail.message ?? ''}`.trim() };
}
