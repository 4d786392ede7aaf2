import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';
import type { Services } from '../src/services.js';
import { isTerminal, JOB_STATUSES, type JobRecord } from '../src/training/ledger.js';

/** Starts the job (with a chosen id when it runs as an MCP task), or finds the one this plan or key started, and shapes the answer. */
export async function startTraining(services: Services, args: { plan_id?: string; config_id?: string; idempotency_key?: string }, job_id?: string) {
  const { job, existing } = await services.jobs.startOnce({ ...args, job_id });
  return {
    job_id: job.job_id,
    status: job.status,
    backend: job.backend,
    plan_id: job.plan_id,
    total_steps: job.total_steps,
    queue_position: services.jobs.queuePosition(job),
    existing,
    ...(existing ? { note: existingNote(job) } : {}),
  };
}

function existingNote(job: JobRecord): string {
  const by = `This ${job.plan_id ? `plan (${job.plan_id})` : 'idempotency_key'} already started job ${job.job_id}; no new job was created.`;
  if (!isTerminal(job.status) && job.status !== 'interrupted') return `${by} It is ${job.status}.`;
  if (job.status === 'succeeded') return `${by} It succeeded. To train again, call plan_training for a new plan (or pass a new idempotency_key).`;
  return `${by} It is ${job.status}. To continue it, call resume_training {job_id: "${job.job_id}"}; to start anew, call plan_training for a new plan.`;
}

export const startTrainingTool = defineTool({
  name: 'start_training',
  title: 'Start a training job',
  description:
    'Starts training from a go plan (plan_id) or a config (config_id: the pre-flight runs first and a no-go refuses with its ' +
    'reasons, so nothing is spent on a run that would fail). Idempotent: one plan starts one job, so calling again with the same ' +
    'plan_id (a retry after a time-out) returns that job (existing: true, whatever its state) instead of paying twice; with ' +
    'config_id pass an idempotency_key for the same guarantee. Returns a job_id at once; the job runs on in the background (a local ' +
    'job in its own worker process) and survives this server. Clients that speak MCP tasks may call it as a task: the task id is ' +
    'the job id (a repeated start follows the existing job) and the task ends when the job does. Next: monitor_training {job_id, wait_s}.',
  input: {
    plan_id: z.string().optional().describe('A plan with verdict "go" from plan_training, e.g. "plan_01hx…".'),
    config_id: z.string().optional().describe('Or a config id; the pre-flight runs with the config\'s own budget. E.g. "cfg_01hx…".'),
    idempotency_key: z.string().min(1).max(200).optional().describe('Any string naming this start, e.g. "nightly-2025-06-01": a call with a key already used returns its job. Needed for config_id; a plan_id is its own key.'),
  },
  output: {
    job_id: z.string().describe('The job, e.g. "job_01hx…".'),
    status: z.enum(JOB_STATUSES).describe('queued (waiting for a slot), preparing or running.'),
    backend: z.string().describe('Backend that runs it.'),
    plan_id: z.string().nullable().describe('The plan it started from.'),
    total_steps: z.number().describe('Planned optimizer steps, e.g. 300.'),
    queue_position: z.number().describe('0 when it is running; otherwise how many jobs of its backend are ahead of it.'),
    existing: z.boolean().describe('true when this plan or idempotency_key had already started the job (nothing new was started).'),
    note: z.string().optional().describe('For an existing job: its state and how to continue (resume_training) or start anew (a new plan).'),
  },
  // Not idempotentHint: a config_id call without an idempotency_key starts a new job each time.
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  handler: ({ plan_id, config_id, idempotency_key }, { services }) => startTraining(services, { plan_id, config_id, idempotency_key }),
  summarize: (o) =>
    o.note
      ? `${o.note} Next: monitor_training {job_id: "${o.job_id}"}.`
      : `Job ${o.job_id} is ${o.status} on ${o.backend}${o.queue_position ? ` (position ${o.queue_position} in the queue)` : ''}. Next: monitor_training {job_id: "${o.job_id}", wait_s: 30}.`,
});
