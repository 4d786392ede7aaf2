import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type OpenAI from 'openai';
import type { Logger } from '../../src/observability/logger.js';
import type { JobSink, TrainingSpec } from '../../src/plugins/providers.js';
import { writeFileAtomic } from '../../src/workspace/atomic-write.js';
import type { OpenAIConfig } from './config.js';
import { codeForJobError, mapOpenAIError } from './errors.js';
import { follow, onPollError, type Follower } from '../../src/plugins/follow-remote.js';
import { OPENAI_METRIC_NAMES, isTerminal, mapOpenAIStatus, type JobState } from './status.js';

/** What has been imported from a remote job so far; persisted so a restart does not import twice. */
export interface FollowState {
  remote_id: string;
  training_file?: string;
  validation_file?: string | null;
  last_event_id?: string;
  last_status?: string;
  /** Our state last reported to the sink. */
  last_state?: string;
  /** Highest step reported per metric series. */
  metric_steps: Record<string, number>;
  /** The run's length as OpenAI last reported it. */
  total_steps?: number;
  checkpoint_steps: number[];
}

export function statePath(spec: TrainingSpec): string {
  return join(spec.output_dir, 'openai', 'remote.json');
}

export function loadState(spec: TrainingSpec, remoteId: string): FollowState {
  const path = statePath(spec);
  if (existsSync(path)) {
    const saved = JSON.parse(readFileSync(path, 'utf8')) as FollowState;
    if (saved.remote_id === remoteId) return saved;
  }
  return { remote_id: remoteId, metric_steps: {}, checkpoint_steps: [] };
}

export function saveState(spec: TrainingSpec, state: FollowState): void {
  writeFileAtomic(statePath(spec), `${JSON.stringify(state, null, 2)}\n`);
}

interface FollowDeps {
  client: OpenAI;
  config: OpenAIConfig;
  logger: Logger;
  spec: TrainingSpec;
  sink: JobSink;
  state: FollowState;
}

function reportMetric(deps: FollowDeps, openaiName: string, step: number, value: unknown): void {
  const name = Object.hasOwn(OPENAI_METRIC_NAMES, openaiName) ? OPENAI_METRIC_NAMES[openaiName] : undefined;
  if (!name || typeof value !== 'number' || !Number.isFinite(value)) return;
  if (step <= (deps.state.metric_steps[name] ?? -1)) return;
  deps.state.metric_steps[name] = step;
  deps.sink.metric(name, step, value);
}

/** New events (the API lists newest first, paged with has_more/after) in time order. */
async function importEvents(deps: FollowDeps): Promise<boolean> {
  const { client, state, sink } = deps;
  const fresh: OpenAI.FineTuning.Jobs.FineTuningJobEvent[] = [];
  for await (const event of client.fineTuning.jobs.listEvents(state.remote_id, { limit: 100 })) {
    if (event.id === state.last_event_id) break;
    fresh.push(event);
  }
  fresh.reverse();
  for (const event of fresh) {
    const data = (event.data ?? {}) as Record<string, unknown>;
    if (event.type === 'metrics' && typeof data.step === 'number') {
      for (const [key, value] of Object.entries(data)) reportMetric(deps, key, data.step, value);
      if (typeof data.total_steps === 'number' && data.total_steps !== state.total_steps) {
        // The ledger reads total_steps from event data: progress shows as step / total_steps.
        state.total_steps = data.total_steps;
        sink.event('progress', `OpenAI plans ${data.total_steps} steps.`, { step: data.step, total_steps: data.total_steps });
      }
    } else {
      sink.event(event.level === 'error' ? 'remote_error' : event.level === 'warn' ? 'remote_warning' : 'remote_event', event.message, {
        remote_event_id: event.id,
        created_at: new Date(event.created_at * 1000).toISOString(),
      });
    }
    state.last_event_id = event.id;
  }
  return fresh.length > 0;
}

async function importCheckpoints(deps: FollowDeps): Promise<boolean> {
  const { client, state, sink } = deps;
  const fresh: OpenAI.FineTuning.Jobs.FineTuningJobCheckpoint[] = [];
  for await (const checkpoint of client.fineTuning.jobs.checkpoints.list(state.remote_id, { limit: 100 })) {
    if (!state.checkpoint_steps.includes(checkpoint.step_number)) fresh.push(checkpoint);
  }
  fresh.sort((a, b) => a.step_number - b.step_number);
  for (const checkpoint of fresh) {
    const metrics = Object.fromEntries(Object.entries(checkpoint.metrics ?? {}).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
    for (const [key, value] of Object.entries(metrics)) reportMetric(deps, key, checkpoint.step_number, value);
    // A remote checkpoint is a usable model name, not a folder: the path carries its uri.
    sink.checkpoint({ step: checkpoint.step_number, path: `openai:${checkpoint.fine_tuned_model_checkpoint}`, metrics });
    state.checkpoint_steps.push(checkpoint.step_number);
  }
  return fresh.length > 0;
}

/** Reports the job's final outcome: the model artifact first, then the terminal state. */
function reportEnd(deps: FollowDeps, job: OpenAI.FineTuning.FineTuningJob, state: JobState): void {
  const { sink } = deps;
  if (state === 'succeeded') {
    if (job.fine_tuned_model) {
      sink.artifact({
        kind: 'remote_model',
        uri: `openai:${job.fine_tuned_model}`,
        meta: { provider: 'openai', model: job.fine_tuned_model, base_model: job.model, trained_tokens: job.trained_tokens, result_files: job.result_files },
      });
    }
    sink.status('succeeded', { remote_id: job.id, message: `Fine-tuned model ${job.fine_tuned_model ?? '(none reported)'}; ${job.trained_tokens ?? '?'} tokens trained.` });
  } else if (state === 'failed') {
    const error = job.error;
    const where = error?.param ? ` (${error.param})` : '';
    sink.status('failed', {
      remote_id: job.id,
      error_code: codeForJobError(error),
      message: `OpenAI job ${job.id} failed${where}: ${error?.code ?? 'unknown'}: ${error?.message ?? 'no message'}`,
    });
  } else {
    sink.status('cancelled', { remote_id: job.id, message: `OpenAI job ${job.id} was cancelled.` });
  }
}

/** Polls one remote job until it ends, importing events, metrics and checkpoints on the way. */
export function followJob(deps: FollowDeps): Follower {
  const { client, config, spec, sink, state, logger } = deps;
  return follow({
    initialMs: config.poll_interval_ms,
    maxMs: config.max_poll_interval_ms,
    async tick() {
      const context = { provider: 'OpenAI', action: `reading fine-tuning job ${state.remote_id}` };
      try {
        const job = await client.fineTuning.jobs.retrieve(state.remote_id);
        let changed = await importEvents(deps);
        changed = (await importCheckpoints(deps)) || changed;
        const mapped = mapOpenAIStatus(job.status);
        if (job.status !== state.last_status) {
          changed = true;
          state.last_status = job.status;
          if (!mapped) {
            sink.event('remote_status_unknown', `OpenAI reports status '${job.status}', which this server does not know; still following.`, { remote_status: job.status });
          }
        }
        if (mapped && isTerminal(mapped)) {
          reportEnd(deps, job, mapped);
          state.last_state = mapped;
          saveState(spec, state);
          return 'done';
        }
        if (mapped && mapped !== state.last_state) {
          state.last_state = mapped;
          sink.status(mapped, { remote_id: job.id, message: `OpenAI status: ${job.status}` });
        }
        saveState(spec, state);
        return changed ? 'changed' : 'same';
      } catch (error) {
        throw mapOpenAIError(error, context);
      }
    },
    onError: onPollError('OpenAI', logger, sink, () => state.remote_id),
  });
}
