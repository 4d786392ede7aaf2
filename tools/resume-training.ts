import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';
import { JOB_STATUSES } from '../src/training/ledger.js';

export const resumeTrainingTool = defineTool({
  name: 'resume_training',
  title: 'Resume a training job',
  description:
    'Continues an interrupted, failed or cancelled job from its latest checkpoint (or a named one: a step number or a checkpoint ' +
    'path from monitor_training; a checkpoint that no longer exists is refused at once). The same job id runs again as a new ' +
    'attempt. Budgets count time spent running, over all attempts; a job stopped by its budget (TIMEOUT, BUDGET_EXCEEDED) ' +
    'resumes with a higher max_runtime_s / max_cost_usd. Next: monitor_training.',
  input: {
    job_id: z.string().describe('The job to continue, e.g. "job_01hx…".'),
    checkpoint: z.union([z.number().int(), z.string()]).optional().describe('Checkpoint step (e.g. 40) or path; default the latest.'),
    max_runtime_s: z.number().positive().optional().describe("New runtime budget in seconds: a total of running time for the job, counting earlier attempts (monitor_training's run_s), e.g. 3600. Default: keep."),
    max_cost_usd: z.number().positive().optional().describe('New cost budget in USD: a total for the job, e.g. 20. Default: keep.'),
  },
  output: {
    job_id: z.string().describe('The job.'),
    status: z.enum(JOB_STATUSES).describe('queued, preparing or running.'),
    attempt: z.number().describe('Attempt number, e.g. 2.'),
    resumed_from: z.string().nullable().describe('Checkpoint folder it continues from, or null (from the start).'),
    max_runtime_s: z.number().nullable().describe('Runtime budget now in force (total running seconds), or null for none.'),
    max_cost_usd: z.number().nullable().describe('Cost budget now in force (USD), or null for none.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handler({ job_id, checkpoint, max_runtime_s, max_cost_usd }, { services }) {
    const { job, resumed_from } = await services.jobs.resume(job_id, checkpoint, { max_runtime_s, max_cost_usd });
    return { job_id, status: job.status, attempt: job.attempt, resumed_from, max_runtime_s: job.policy.max_runtime_s ?? null, max_cost_usd: job.policy.max_cost_usd ?? null };
  },
  summarize: (o) => `Job ${o.job_id} attempt ${o.attempt} is ${o.status}, from ${o.resumed_from ?? 'the start'}. Next: monitor_training.`,
});
