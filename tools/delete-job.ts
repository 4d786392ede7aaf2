import { z } from 'zod';
import { DeletionShape } from '../src/workspace/record-deletion.js';
import { defineTool } from '../src/server/tool.js';
import { deleteJob } from '../src/training/delete-job.js';
import { JOB_STATUSES } from '../src/training/ledger.js';

export const deleteJobTool = defineTool({
  name: 'delete_job',
  title: 'Delete a training job',
  description:
    'Deletes an ended training job for good: its history (events, metrics, checkpoints, alerts) and its folder (checkpoints, adapter, ' +
    'merged weights) go together; its config and plan stay. Refused (STATE_CONFLICT) while the job is queued or running ' +
    '(cancel_training first) and when a registered model version was made from it (register_model copies the weights, and versions ' +
    'are permanent). Returns what was freed.',
  input: { job_id: z.string().min(1).describe('The ended job to delete, e.g. "job_01hx…" (from list_jobs).') },
  output: {
    job_id: z.string().describe('The deleted job id.'),
    status: z.enum(JOB_STATUSES).describe('The status it had, e.g. "succeeded".'),
    ...DeletionShape,
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async handler({ job_id }, { services }) {
    return { job_id, ...deleteJob(services.workspace, job_id) };
  },
  summarize: (o) => `Deleted ${o.status} job ${o.job_id}: ${o.files_removed} file(s), ${o.bytes_freed.toLocaleString('en-US')} bytes freed.`,
});
