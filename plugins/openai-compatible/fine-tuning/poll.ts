import type OpenAI from 'openai';
import type { RemoteJobContext, RemotePoll } from '../../../src/plugins/providers.js';
import { codeForJobError } from './errors.js';
import { OPENAI_METRIC_NAMES, mapOpenAIStatus } from './status.js';

/** What has been imported from a job so far (ctx.state, persisted by the host) so a restart imports nothing twice. */
interface OpenAICursor {
  training_file?: string;
  validation_file?: string;
  last_event_id?: string;
  /** Highest step reported per metric series (events and checkpoints both carry metrics). */
  metric_steps: Record<string, number>;
  checkpoint_steps: number[];
  step?: number;
  total_steps?: number;
}

/** The plugin's cursor inside the host-persisted ctx.state, with its defaults filled in. */
export function openAICursor(ctx: RemoteJobContext): OpenAICursor {
  const state = ctx.state as Partial<OpenAICursor>;
  state.metric_steps ??= {};
  state.checkpoint_steps ??= [];
  return state as OpenAICursor;
}

type Points = NonNullable<RemotePoll['metric_points']>;

function addMetric(cursor: OpenAICursor, points: Points, openaiName: string, step: number, value: unknown): void {
  const name = Object.hasOwn(OPENAI_METRIC_NAMES, openaiName) ? OPENAI_METRIC_NAMES[openaiName] : undefined;
  if (!name || typeof value !== 'number' || !Number.isFinite(value)) return;
  if (step <= (cursor.metric_steps[name] ?? -1)) return;
  cursor.metric_steps[name] = step;
  points.push({ name, step, value });
}

const EVENT_TYPES = { error: ['remote_error', 'error'], warn: ['remote_warning', 'warning'], info: ['remote_event', 'info'] } as const;

/** New events (the API lists newest first, paged with has_more/after) in time order: metric points, progress and log lines. */
async function readEvents(client: OpenAI, remoteId: string, cursor: OpenAICursor, out: Required<Pick<RemotePoll, 'events' | 'metric_points'>>, signal?: AbortSignal): Promise<void> {
  const fresh: OpenAI.FineTuning.Jobs.FineTuningJobEvent[] = [];
  for await (const event of client.fineTuning.jobs.listEvents(remoteId, { limit: 100 }, { signal })) {
    if (event.id === cursor.last_event_id) break;
    fresh.push(event);
  }
  for (const event of fresh.reverse()) {
    const data = (event.data ?? {}) as Record<string, unknown>;
    if (event.type === 'metrics' && typeof data.step === 'number') {
      for (const [key, value] of Object.entries(data)) addMetric(cursor, out.metric_points, key, data.step, value);
      cursor.step = data.step;
      if (typeof data.total_steps === 'number') cursor.total_steps = data.total_steps;
    } else {
      const [type, level] = EVENT_TYPES[event.level === 'error' || event.level === 'warn' ? event.level : 'info'];
      out.events.push({ type, level, message: event.message, data: { remote_event_id: event.id, created_at: new Date(event.created_at * 1000).toISOString() } });
    }
    cursor.last_event_id = event.id;
  }
}

/** Checkpoints not seen before, oldest first; a remote checkpoint is a usable model name, not a folder. */
async function readCheckpoints(client: OpenAI, remoteId: string, cursor: OpenAICursor, points: Points, plugin: string, signal?: AbortSignal): Promise<NonNullable<RemotePoll['checkpoints']>> {
  const fresh: OpenAI.FineTuning.Jobs.FineTuningJobCheckpoint[] = [];
  for await (const checkpoint of client.fineTuning.jobs.checkpoints.list(remoteId, { limit: 100 }, { signal })) {
    if (!cursor.checkpoint_steps.includes(checkpoint.step_number)) fresh.push(checkpoint);
  }
  fresh.sort((a, b) => a.step_number - b.step_number);
  return fresh.map((checkpoint) => {
    const metrics = Object.fromEntries(Object.entries(checkpoint.metrics ?? {}).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
    for (const [key, value] of Object.entries(metrics)) addMetric(cursor, points, key, checkpoint.step_number, value);
    cursor.checkpoint_steps.push(checkpoint.step_number);
    return { step: checkpoint.step_number, model_ref: `${plugin}:${checkpoint.fine_tuned_model_checkpoint}`, metrics };
  });
}

/** The job's outcome: the fine-tuned model on success, our error code on failure. */
function outcome(job: OpenAI.FineTuning.FineTuningJob, plugin: string): Pick<RemotePoll, 'message' | 'error_code' | 'result'> {
  if (job.status === 'succeeded') {
    return {
      message: `Fine-tuned model ${job.fine_tuned_model ?? '(none reported)'}; ${job.trained_tokens ?? '?'} tokens trained.`,
      ...(job.fine_tuned_model
        ? { result: { model_ref: `${plugin}:${job.fine_tuned_model}`, meta: { provider: plugin, model: job.fine_tuned_model, base_model: job.model, trained_tokens: job.trained_tokens, result_files: job.result_files } } }
        : {}),
    };
  }
  if (job.status === 'failed') {
    const error = job.error;
    const where = error?.param ? ` (${error.param})` : '';
    return { error_code: codeForJobError(error), message: `${error?.code ?? 'unknown'}${where}: ${error?.message ?? 'no message'}` };
  }
  // Other statuses: the host's own wording ("<plugin> status: running").
  return {};
}

/** One look at a job: its status, plus the events, metric points and checkpoints since the cursor. */
/** `plugin` prefixes the model references, so the result is served by the same plugin's inference. */
export async function pollOpenAIJob(client: OpenAI, remoteId: string, ctx: RemoteJobContext, plugin: string): Promise<RemotePoll> {
  const cursor = openAICursor(ctx);
  // The job is read first: everything that happened before a terminal status is imported in the same poll.
  // The host aborts ctx.signal when it stops following: a request in flight ends there.
  const { signal } = ctx;
  const job = await client.fineTuning.jobs.retrieve(remoteId, { signal });
  const found = { events: [], metric_points: [] } as Required<Pick<RemotePoll, 'events' | 'metric_points'>>;
  await readEvents(client, remoteId, cursor, found, signal);
  const checkpoints = await readCheckpoints(client, remoteId, cursor, found.metric_points, plugin, signal);
  return {
    status: mapOpenAIStatus(job.status),
    ...(cursor.step !== undefined ? { step: cursor.step } : {}),
    ...(cursor.total_steps !== undefined ? { total_steps: cursor.total_steps } : {}),
    ...found,
    checkpoints,
    ...outcome(job, plugin),
  };
}
