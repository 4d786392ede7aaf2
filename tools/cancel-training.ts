import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';
import { JOB_STATUSES } from '../src/training/ledger.js';

export const cancelTrainingTool = defineTool({
  name: 'cancel_training',
  title: 'Cancel a training job',
  description:
    'Stops a queued or running job: the worker is told to stop (flag + SIGTERM for local workers, the provider\'s cancel for remote ' +
    'jobs) and the job ends as cancelled; its checkpoints stay. Idempotent: cancelling an ended job changes nothing and says so. ' +
    'resume_training can continue a cancelled job from its last checkpoint.',
  input: { job_id: z.string().describe('The job to stop, e.g. "job_01hx…".') },
  output: {
    job_id: z.string().describe('The job.'),
    status: z.enum(JOB_STATUSES).describe('Status after the request: normally "cancelled".'),
    already_ended: z.boolean().describe('True when the job had already ended; nothing was changed.'),
    message: z.string().describe('What happened.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  async handler({ job_id }, { services }) {
    const { job, already_ended } = await services.jobs.cancel(job_id);
    const message = already_ended
      ? `Job had already ended as ${job.status}; nothing to cancel.`
      : job.status === 'cancelled'
        ? 'Job cancelled.'
        : `Cancel requested; the job is ${job.status} and will stop at its next step.`;
    return { job_id, status: job.status, already_ended, message };
  },
  summarize: (o) => `${o.job_id}: ${o.message}`,
});
