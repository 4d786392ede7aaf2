import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';
import { JOB_STATUSES } from '../src/training/ledger.js';

export const resumeTrainingTool = defineTool({
  name: 'resume_training',
  title: 'Resume a training job',
  description:
    'Continues an interrupted, failed or cancelled job from its latest checkpoint (or a named one: a step number or a checkpoint ' +
    'path from monitor_training). The same job id runs again as a new attempt. Next: monitor_training.',
  input: {
    job_id: z.string().describe('The job to continue, e.g. "job_01hx…".'),
    checkpoint: z.union([z.number().int(), z.string()]).optional().describe('Checkpoint step (e.g. 40) or path; default the latest.'),
  },
  output: {
    job_id: z.string().describe('The job.'),
    status: z.enum(JOB_STATUSES).describe('queued, preparing or running.'),
    attempt: z.number().describe('Attempt number, e.g. 2.'),
    resumed_from: z.string().nullable().describe('Checkpoint folder it continues from, or null (from the start).'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handler({ job_id, checkpoint }, { services }) {
    const { job, resumed_from } = await services.jobs.resume(job_id, checkpoint);
    return { job_id, status: job.status, attempt: job.attempt, resumed_from };
  },
  summarize: (o) => `Job ${o.job_id} attempt ${o.attempt} is ${o.status}, from ${o.resumed_from ?? 'the start'}. Next: monitor_training.`,
});
