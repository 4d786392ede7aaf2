import { FinetuneError } from '../errors.js';
import { deleteRecord, refuseIfRegistered, type DeletionResult } from '../workspace/record-deletion.js';
import type { Workspace } from '../workspace/workspace.js';
import { workerAlive, type WorkerRef } from './cancel-signal.js';
import type { JobRecord } from './job-records.js';

/** The job's own rows, dependents first (deliveries reference the outbox). Configs and plans stay: they are shared, immutable records. */
const JOB_ROWS = [
  'DELETE FROM alert_deliveries WHERE job_id = @id',
  'DELETE FROM alert_outbox WHERE job_id = @id',
  'DELETE FROM job_events WHERE job_id = @id',
  'DELETE FROM job_metrics WHERE job_id = @id',
  'DELETE FROM job_checkpoints WHERE job_id = @id',
  'DELETE FROM job_artifacts WHERE job_id = @id',
  'DELETE FROM job_starts WHERE job_id = @id',
  'DELETE FROM job_tasks WHERE task_id = @id OR job_id = @id',
  'DELETE FROM jobs WHERE job_id = @id',
];

/**
 * Deletes a training job: its ledger rows (events, metrics, checkpoints, artifacts, alerts) and its
 * folder (checkpoints, adapter, merged weights), atomically. Refused while it is queued or running,
 * while its worker is still exiting, and when a registered model version names it.
 */
export function deleteJob(workspace: Workspace, job_id: string): DeletionResult & { status: JobRecord['status'] } {
  let status: JobRecord['status'] = 'succeeded';
  const result = deleteRecord(workspace, {
    area: 'jobs',
    id: job_id,
    check(db) {
      const job = db.prepare('SELECT status, worker_pid, worker_start FROM jobs WHERE job_id = ?').get(job_id) as (Pick<JobRecord, 'status'> & WorkerRef) | undefined;
      if (!job) throw new FinetuneError('NOT_FOUND', `No training job '${job_id}'.`, { recovery: 'Call list_jobs to see the jobs of this workspace.', details: { field: 'job_id' } });
      status = job.status;
      if (job.status === 'queued' || job.status === 'preparing' || job.status === 'running') {
        throw new FinetuneError('STATE_CONFLICT', `Job ${job_id} is ${job.status}; a job that may still run cannot be deleted.`, {
          recovery: `Call cancel_training with job_id ${job_id}, wait until monitor_training shows it ended, then delete it.`,
          details: { field: 'job_id' },
        });
      }
      // An ended job's worker may still be writing its last files (its identity is checked: a reused pid is not it).
      if (job.worker_pid && job.worker_pid !== process.pid && workerAlive(job)) {
        throw new FinetuneError('STATE_CONFLICT', `Job ${job_id} ended but its worker (pid ${job.worker_pid}) is still exiting.`, {
          retryable: true,
          recovery: 'Call delete_job again in a few seconds.',
          details: { field: 'job_id' },
        });
      }
      refuseIfRegistered(db, 'job_id', job_id, 'Job');
    },
    deleteRows(db) {
      for (const sql of JOB_ROWS) db.prepare(sql).run({ id: job_id });
    },
  });
  return { ...result, status };
}
