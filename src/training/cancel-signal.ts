import type { Workspace } from '../workspace/workspace.js';
import { JobLedger } from './ledger.js';
import { processRunning } from './process-identity.js';

export { processAlive } from './process-identity.js';

/**
 * How a running job learns it must stop, across processes:
 * - the ledger row carries `cancel_requested_at` (set by cancel_training, a budget or a guardrail),
 *   which a worker polls once per optimizer step with `cancelRequested()`;
 * - a local worker also gets SIGTERM at its `worker_pid`, so it stops even mid-step.
 * A worker records who it is with `recordWorker()` as soon as it starts: its pid and its start time
 * (src/training/process-identity.ts), so that a later process that got the same pid is never taken
 * for it, neither as alive nor as the target of a signal.
 */

/** A job's worker as the ledger records it. */
export interface WorkerRef {
  worker_pid: number | null;
  /** Its start identity (processStart); null where none could be read, then the pid alone decides. */
  worker_start?: string | null;
}

/** Records the process (local worker) or remote id (remote backend) that runs a job. */
export function recordWorker(workspace: Workspace, job_id: string, who: { worker_pid?: number; remote_id?: string }): void {
  new JobLedger(workspace.db).update(job_id, { worker_pid: who.worker_pid, remote_id: who.remote_id });
}

/** True once anyone asked the job to stop. Cheap: one indexed read; call it once per step. */
export function cancelRequested(workspace: Workspace, job_id: string): boolean {
  const row = workspace.db.prepare('SELECT cancel_requested_at FROM jobs WHERE job_id = ?').get(job_id) as { cancel_requested_at: string | null } | undefined;
  return row?.cancel_requested_at !== null && row?.cancel_requested_at !== undefined;
}

/** Whether the recorded worker still runs: its pid is alive and names the process that started as it (not a reuse of the pid). */
export function workerAlive(worker: WorkerRef): boolean {
  return processRunning(worker.worker_pid, worker.worker_start);
}

/**
 * Asks a job to stop: marks the row and sends SIGTERM to its live worker, if any.
 * `stop` turns the end into a failure with that code (budget, guardrail) instead of `cancelled`.
 */
export function requestCancel(workspace: Workspace, job_id: string, stop?: { code: string; reason: string }): { signalled: boolean } {
  const job = new JobLedger(workspace.db).requestStop(job_id, stop);
  return { signalled: signalWorker(job) };
}

/** A signal (SIGTERM by default) to the recorded worker when it still runs and is not this process; true when sent. */
export function signalWorker(worker: WorkerRef, signal: NodeJS.Signals = 'SIGTERM'): boolean {
  const pid = worker.worker_pid;
  if (!pid || pid === process.pid || !workerAlive(worker)) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * For a worker: calls `onCancel` once when the job is asked to stop, whether by SIGTERM or by the
 * ledger flag (polled every `poll_ms`). Returns a function that stops watching.
 */
export function watchCancel(workspace: Workspace, job_id: string, onCancel: () => void, options: { poll_ms?: number; signals?: boolean } = {}): () => void {
  let fired = false;
  const fire = () => {
    if (fired) return;
    fired = true;
    stop();
    onCancel();
  };
  const timer = setInterval(() => {
    if (cancelRequested(workspace, job_id)) fire();
  }, options.poll_ms ?? 500);
  timer.unref();
  const useSignals = options.signals ?? true;
  if (useSignals) process.on('SIGTERM', fire);
  function stop() {
    clearInterval(timer);
    if (useSignals) process.off('SIGTERM', fire);
  }
  return stop;
}
