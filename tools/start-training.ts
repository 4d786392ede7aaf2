import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';
import type { Services } from '../src/services.js';
import { JOB_STATUSES } from '../src/training/ledger.js';

/** Starts the job (with a chosen id when it runs as an MCP task) and shapes the answer. */
export async function startTraining(services: Services, args: { plan_id?: string; config_id?: string }, job_id?: string) {
  const job = await services.jobs.start({ ...args, job_id });
  const position = services.jobs.jobLedger.queued(job.backend).map((j) => j.job_id).indexOf(job.job_id);
  return { job_id: job.job_id, status: job.status, backend: job.backend, plan_id: job.plan_id, total_steps: job.total_steps, queue_position: position < 0 ? 0 : position + 1 };
}

export const startTrainingTool = defineTool({
  name: 'start_training',
  title: 'Start a training job',
  description:
    'Starts training from a go plan (plan_id) or a config (config_id: the pre-flight runs first and a no-go refuses with its ' +
    'reasons, so nothing is spent on a run that would fail). Returns a job_id at once; the job runs on in the background (a local ' +
    'job in its own worker process) and survives this server. Clients that speak MCP tasks may call it as a task: the task id is ' +
    'the job id and the task ends when the job does. Next: monitor_training {job_id, wait_s}.',
  input: {
    plan_id: z.string().optional().describe('A plan with verdict "go" from plan_training, e.g. "plan_01hx…".'),
    config_id: z.string().optional().describe('Or a config id; the pre-flight runs with the config\'s own budget. E.g. "cfg_01hx…".'),
  },
  output: {
    job_id: z.string().describe('The job, e.g. "job_01hx…".'),
    status: z.enum(JOB_STATUSES).describe('queued (waiting for a slot), preparing or running.'),
    backend: z.string().describe('Backend that runs it.'),
    plan_id: z.string().nullable().describe('The plan it started from.'),
    total_steps: z.number().describe('Planned optimizer steps, e.g. 300.'),
    queue_position: z.number().describe('0 when it is running; otherwise how many jobs of its backend are ahead of it.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  handler: ({ plan_id, config_id }, { services }) => startTraining(services, { plan_id, config_id }),
  summarize: (o) => `Job ${o.job_id} is ${o.status} on ${o.backend}${o.queue_position ? ` (position ${o.queue_position} in the queue)` : ''}. Next: monitor_training {job_id: "${o.job_id}", wait_s: 30}.`,
});
