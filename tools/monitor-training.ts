import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';
import { MCP_APP_URI } from '../src/server/ui/mcp-app.js';
import { runningSeconds } from '../src/training/ledger.js';
import { JobEventSchema } from '../src/training/schemas.js';
import { AlertSummarySchema, etaSeconds, JobSummarySchema, summarizeJob } from '../src/training/views.js';

const CurveSchema = z.array(z.object({ step: z.number().describe('Step.'), value: z.number().nullable().describe('Value; null for NaN/∞.') }));
type Curve = z.infer<typeof CurveSchema>;

export const monitorTrainingTool = defineTool({
  name: 'monitor_training',
  title: 'Monitor a training job',
  description:
    'Status of a job: step / total, epoch, latest metrics (loss, eval_loss, lr, grad_norm, tokens_per_s), ETA, best eval so far, ' +
    'events since a cursor (status changes, checkpoints, budget and guardrail warnings), the checkpoints that exist, artifacts, ' +
    'running time over all attempts (run_s, what the runtime budget counts), webhook alert deliveries, and the local worker pid or remote id. wait_s (≤ 50) first waits until the status changes (or, with events_cursor, a new event arrives), ' +
    'sending progress notifications when asked. ' +
    'include_plot adds a PNG chart. Call again with events_cursor = next_cursor to get only new events.',
  input: {
    job_id: z.string().describe('The job, e.g. "job_01hx…".'),
    wait_s: z.number().min(0).max(50).default(0).describe('Wait up to this many seconds for a change (0–50). Default 0.'),
    events_cursor: z.number().int().min(0).default(0).describe('Return events after this seq (next_cursor of the last call). Default 0 = all.'),
    events_limit: z.number().int().min(1).max(500).default(100).describe('Most events to return, 1–500. Default 100.'),
    include_plot: z.boolean().default(false).describe('Attach a PNG chart of train/eval loss (and learning rate) against step. Default false.'),
    include_curves: z.boolean().default(false).describe('Also return every point of the train loss, eval loss and learning-rate series as curves (what the MCP App view draws). Default false.'),
  },
  output: {
    ...JobSummarySchema.shape,
    eta_s: z.number().nullable().describe('Seconds left at the pace so far, or null.'),
    run_s: z.number().describe('Seconds spent running over all attempts (idle time between attempts not counted): what max_runtime_s limits, e.g. 412.5.'),
    metrics: z.record(z.string(), z.object({ step: z.number().describe('Step of the value.'), value: z.number().nullable().describe('Latest value; null for NaN/∞.') })).describe('Latest value of each metric series, e.g. {"loss": {"step": 40, "value": 1.93}}.'),
    best_eval: z.object({ step: z.number().describe('Step.'), eval_loss: z.number().describe('Lowest eval loss.') }).nullable().describe('Best eval loss so far, or null.'),
    events: z.array(JobEventSchema).describe('Events after events_cursor, oldest first.'),
    next_cursor: z.number().describe('Pass as events_cursor next time.'),
    checkpoints: z.array(z.object({ step: z.number().describe('Step.'), path: z.string().describe('Folder.'), created_at: z.string().describe('ISO time.') })).describe('Checkpoints that exist (those removed by save_total_limit are left out), oldest first.'),
    alerts: z.array(AlertSummarySchema).optional().describe('Webhook alerts of the job and their delivery (only when the job has a webhook_url).'),
    curves: z
      .object({ train_loss: CurveSchema.describe('Train loss points.'), eval_loss: CurveSchema.describe('Eval loss points.'), learning_rate: CurveSchema.describe('Learning-rate points.') })
      .optional()
      .describe('Whole series, only with include_curves: true.'),
    artifacts: z.array(z.object({ kind: z.string().describe('adapter, merged, onnx, …'), path: z.string().optional().describe('Local path.'), uri: z.string().optional().describe('Remote URI.') })).describe('Outputs of the job.'),
  },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  app: MCP_APP_URI,
  async handler({ job_id, wait_s, events_cursor, events_limit, include_plot, include_curves }, ctx) {
    const { jobs } = ctx.services;
    let job = jobs.get(job_id);
    if (wait_s > 0) {
      const progress = (j: typeof job) => ctx.progress(j.step, j.total_steps || undefined, `${j.status} step ${j.step}`);
      job = await jobs.waitForChange(job_id, wait_s, ctx.signal, progress, events_cursor || undefined);
    }
    const shown = jobs.progress(job, { cursor: events_cursor, limit: events_limit });
    if (include_plot) ctx.attachImage((await (await import('../src/plots/job-curves.js')).renderJobCurves(job, jobs.trainingCurves(job_id))).png);
    const curves = include_curves ? Object.fromEntries(Object.entries(jobs.trainingCurves(job_id)).map(([k, s]) => [k, s.map(({ step, value }) => ({ step, value: Number.isFinite(value) ? value : null }))])) : undefined;
    return { ...summarizeJob(job), eta_s: etaSeconds(job), run_s: Math.round(runningSeconds(job) * 10) / 10, ...shown, ...(curves ? { curves: curves as { train_loss: Curve; eval_loss: Curve; learning_rate: Curve } } : {}) };
  },
  summarize: (o) => {
    const loss = o.metrics.loss?.value;
    return (
      `${o.job_id}: ${o.status}, step ${o.step}/${o.total_steps || '?'}${loss !== undefined && loss !== null ? `, loss ${loss.toFixed(4)}` : ''}` +
      `${o.best_eval ? `, best eval ${o.best_eval.eval_loss.toFixed(4)} @${o.best_eval.step}` : ''}${o.eta_s !== null ? `, ETA ${o.eta_s} s` : ''}` +
      `${o.error_code ? `. [${o.error_code}] ${o.error_message ?? ''}${o.recovery ? ` Recovery: ${o.recovery}` : ''}` : ''}` +
      `${o.worker_pid ? `; worker pid ${o.worker_pid}` : ''}. ${o.events.length} new event(s); next_cursor ${o.next_cursor}.` +
      `${o.alerts?.length ? ` Alerts: ${o.alerts.filter((a) => a.status === 'delivered').length} delivered, ${o.alerts.filter((a) => a.status === 'pending').length} pending, ${o.alerts.filter((a) => a.status === 'failed').length} failed.` : ''}` +
      nextStep(o.job_id, o.status)
    );
  },
});

/** What an agent calls once the job has ended (nothing while it runs: it monitors again). */
function nextStep(job_id: string, status: string): string {
  if (status === 'succeeded') return ` Next: evaluate_model {job_id: "${job_id}"}, then register_model with its evaluation_id.`;
  if (status === 'failed' || status === 'interrupted' || status === 'cancelled') return ` Next: resume_training {job_id: "${job_id}"} continues from the latest checkpoint (after fixing the cause, if it failed).`;
  return '';
}
