import type { WorkerLedger } from '../plugins/types.js';
import type { Workspace } from '../workspace/workspace.js';
import { recordWorker } from './cancel-signal.js';
import { JobLedger } from './ledger.js';

/** The workspace's jobs table seen through the WorkerLedger a plugin gets (PluginContext.workers). */
export function workerLedgerOf(workspace: Workspace): WorkerLedger {
  return {
    record: (job_id, who) => recordWorker(workspace, job_id, who),
    recorded(job_id) {
      const job = new JobLedger(workspace.db).find(job_id);
      return job ? { worker_pid: job.worker_pid, worker_start: job.worker_start ?? null } : undefined;
    },
    exited(job_id, pid, code, signal) {
      // The server may be closing: a closed database means nobody is left to tell.
      if (workspace.db.open) new JobLedger(workspace.db).recordWorkerExit(job_id, pid, code, signal);
    },
  };
}
