import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, FinetuneError, type ErrorCode } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { writeFileAtomic } from '../workspace/atomic-write.js';
import { follow, onPollError } from './follow-remote.js';
import {
  REMOTE_STATUSES,
  type JobHandle,
  type JobSink,
  type RemoteJobContext,
  type RemotePoll,
  type RemoteStatus,
  type RemoteTrainingBackend,
  type SpecIssue,
  type TrainingSpec,
} from './providers.js';

/**
 * The host's side of a remote training backend: the plugin submits, polls and cancels; this runs
 * everything around it for every provider alike: following with backoff, persisting the remote id
 * and the plugin's `ctx.state`, re-attaching after a restart, cancel, detach on shutdown, unknown
 * statuses, and turning each RemotePoll into ledger writes (docs/plugin-sdk.md).
 */

/** A followed remote job: cancel reaches the provider; detach stops following here (the job runs on). */
interface RemoteJobHandle extends JobHandle {
  detach(): void;
  /** Settles when following stops: the job ended, polling gave up, or it was detached. */
  readonly followed: Promise<void>;
}

/** What the job manager drives: the same start/attach shape as a worker backend. */
export interface RemoteJobRunner {
  validate(spec: TrainingSpec): Promise<SpecIssue[]>;
  start(spec: TrainingSpec, sink: JobSink): Promise<RemoteJobHandle>;
  attach(remote_id: string, spec: TrainingSpec, sink: JobSink): Promise<RemoteJobHandle>;
}

interface RemoteJobOptions {
  /** The plugin's name: it names the provider in events and messages. */
  name: string;
  logger: Logger;
}

/**
 * What has been reported of one remote job, with the plugin's state: one JSON file in the job's
 * folder, written atomically after every poll. A file, not a table: it lives and dies with the job's
 * folder (delete_job removes both), needs no migration, and only this job's follower writes it.
 */
interface RemoteJobRecord {
  remote_id: string;
  /** The plugin's own cursor (RemoteJobContext.state). */
  state: Record<string, unknown>;
  /** Our status last reported to the sink. */
  status?: string;
  step?: number;
  total_steps?: number;
  /** Unknown provider statuses already reported (each once). */
  unknown_statuses: string[];
  /** Highest step recorded per metric series: a poll repeating a point never records it twice. */
  metric_steps: Record<string, number>;
  checkpoint_steps: number[];
}

const DEFAULT_POLL_MS = { initial: 5000, max: 60_000 };
const RECORD_FILE = 'remote-job.json';

/** Our ledger state for a provider's non-terminal status: waiting in the provider's queue is still `preparing` (preparing → queued is not a legal move). */
const ACTIVE_STATE = { queued: 'preparing', running: 'running' } as const;

export function createRemoteJobRunner(backend: RemoteTrainingBackend, options: RemoteJobOptions): RemoteJobRunner {
  const { name, logger } = options;
  return {
    validate: async (spec) => (await backend.validate?.(spec)) ?? [],
    async start(spec, sink) {
      // A spec the backend's own checks refuse never reaches the provider (the plan ran them too; the data may have changed since).
      refuseErrors(await this.validate(spec));
      const state: Record<string, unknown> = {};
      const files = { train: spec.dataset.train_path, ...(spec.dataset.validation_path && existsSync(spec.dataset.validation_path) ? { validation: spec.dataset.validation_path } : {}) };
      const { remote_id } = await backend.submit({ job_id: spec.job_id, spec, files }, { job_id: spec.job_id, output_dir: spec.output_dir, state });
      const record: RemoteJobRecord = { remote_id, state, status: 'preparing', unknown_statuses: [], metric_steps: {}, checkpoint_steps: [] };
      saveRecord(spec, record);
      sink.status('preparing', { remote_id, message: `${name} job ${remote_id} created.` });
      sink.event('remote_job_created', `${name} job ${remote_id} created.`, { remote_id });
      return followRemoteJob(backend, spec, sink, record, options);
    },
    async attach(remote_id, spec, sink) {
      const saved = loadRecord(spec, logger);
      const record = saved?.remote_id === remote_id ? saved : { remote_id, state: {}, unknown_statuses: [], metric_steps: {}, checkpoint_steps: [] };
      logger.info({ job_id: spec.job_id, remote_id, state_restored: record === saved }, `following the ${name} job again`);
      return followRemoteJob(backend, spec, sink, record, options);
    },
  };
}

function followRemoteJob(backend: RemoteTrainingBackend, spec: TrainingSpec, sink: JobSink, record: RemoteJobRecord, options: RemoteJobOptions): RemoteJobHandle {
  const { name, logger } = options;
  const aborter = new AbortController();
  const ctx: RemoteJobContext = { job_id: spec.job_id, output_dir: spec.output_dir, state: record.state, signal: aborter.signal };
  const interval = backend.poll_interval_ms ?? DEFAULT_POLL_MS;
  const reportPollError = onPollError(name, logger, sink, () => record.remote_id);
  let detached = false;
  let ended = false;
  let cancelSent: Promise<void> | undefined;
  const follower = follow({
    initialMs: interval.initial,
    maxMs: interval.max,
    async tick() {
      const poll = await backend.poll(record.remote_id, ctx);
      // Detached while the poll ran: the server is closing and the ledger may be gone.
      if (detached) return 'done';
      const outcome = reportPoll(poll, record, sink, name);
      saveRecord(spec, record);
      ended = outcome === 'done';
      return outcome;
    },
    // A poll cut short by detach is no failure of the job.
    onError: (error) => (detached ? 'stop' : reportPollError(error)),
  });
  return {
    remote_id: record.remote_id,
    async cancel() {
      // Idempotent: an ended job, or one already asked to stop (or being asked now), is not asked again.
      cancelSent ??= ended
        ? Promise.resolve()
        : backend.cancel(record.remote_id, ctx).then(
            () => sink.event('remote_cancel_requested', `Asked ${name} to cancel job ${record.remote_id}.`, { remote_id: record.remote_id }),
            (error: unknown) => {
              cancelSent = undefined; // not sent: a later cancel tries again
              throw error;
            },
          );
      await cancelSent;
      follower.nudge();
    },
    detach() {
      detached = true;
      aborter.abort();
      follower.stop();
    },
    followed: follower.finished,
  };
}

/** One poll into the sink: status moves, then what happened between polls, then (last) the end with its model first. */
function reportPoll(poll: RemotePoll, record: RemoteJobRecord, sink: JobSink, name: string): 'changed' | 'same' | 'done' {
  const { remote_id } = record;
  let changed = false;
  const status = poll.status;
  if (!isRemoteStatus(status)) {
    if (!record.unknown_statuses.includes(status)) {
      record.unknown_statuses.push(status);
      sink.event('remote_status_unknown', `${name} reports status '${status}', which this server does not know; still following.`, { remote_status: status });
      changed = true;
    }
  } else if (status === 'queued' || status === 'running') {
    const ours = ACTIVE_STATE[status];
    if (record.status !== ours) {
      record.status = ours;
      sink.status(ours, { remote_id, message: poll.message ?? `${name} status: ${status}` });
      changed = true;
    }
  }
  changed = reportProgress(poll, record, sink, name) || changed;
  for (const event of poll.events ?? []) {
    sink.event(event.type, event.message, { ...event.data, ...(event.level ? { level: event.level } : {}) });
    changed = true;
  }
  for (const point of poll.metric_points ?? []) changed = recordMetric(record, sink, point.name, point.step, point.value) || changed;
  for (const [metric, value] of Object.entries(poll.metrics ?? {})) changed = recordMetric(record, sink, metric, poll.step ?? record.step ?? 0, value) || changed;
  for (const checkpoint of [...(poll.checkpoints ?? [])].sort((a, b) => a.step - b.step)) {
    if (record.checkpoint_steps.includes(checkpoint.step)) continue;
    record.checkpoint_steps.push(checkpoint.step);
    // A remote checkpoint is a model reference (`together:acct/model-step-10`), not a folder.
    sink.checkpoint({ step: checkpoint.step, path: checkpoint.model_ref, ...(checkpoint.metrics ? { metrics: checkpoint.metrics } : {}) });
    changed = true;
  }
  if (!isRemoteStatus(status) || status === 'queued' || status === 'running') return changed ? 'changed' : 'same';
  reportEnd(poll, status, record, sink, name);
  record.status = status;
  return 'done';
}

/** step / total_steps: the run's length goes to the ledger through a `progress` event, each new step as a `progress` fraction. */
function reportProgress(poll: RemotePoll, record: RemoteJobRecord, sink: JobSink, name: string): boolean {
  let changed = false;
  if (isCount(poll.total_steps) && poll.total_steps > 0 && poll.total_steps !== record.total_steps) {
    record.total_steps = poll.total_steps;
    sink.event('progress', `${name} plans ${poll.total_steps} steps.`, { step: poll.step ?? record.step ?? 0, total_steps: poll.total_steps });
    changed = true;
  }
  if (isCount(poll.step) && poll.step > (record.step ?? -1)) {
    record.step = poll.step;
    if (record.total_steps) sink.metric('progress', poll.step, poll.step / record.total_steps);
    changed = true;
  }
  return changed;
}

function recordMetric(record: RemoteJobRecord, sink: JobSink, metric: string, step: number, value: number): boolean {
  if (typeof value !== 'number' || !Number.isFinite(value) || !isCount(step) || step <= (record.metric_steps[metric] ?? -1)) return false;
  record.metric_steps[metric] = step;
  sink.metric(metric, step, value);
  return true;
}

function reportEnd(poll: RemotePoll, status: 'succeeded' | 'failed' | 'cancelled', record: RemoteJobRecord, sink: JobSink, name: string): void {
  const { remote_id } = record;
  if (status === 'succeeded') {
    const model = poll.result?.model_ref;
    // The model goes on record before the job is seen as ended: a watcher reading `succeeded` finds it.
    if (model) sink.artifact({ kind: 'remote_model', uri: model, meta: { provider: name, remote_id, ...poll.result?.meta } });
    if (poll.result?.adapter_dir) sink.artifact({ kind: 'adapter', path: poll.result.adapter_dir, meta: { provider: name, remote_id } });
    sink.status('succeeded', { remote_id, message: poll.message ?? `${name} job ${remote_id} trained ${model ?? '(no model reported)'}.` });
  } else if (status === 'failed') {
    const given = poll.error_code;
    const known = given !== undefined && Object.hasOwn(ERROR_CODES, given);
    const why = `${name} job ${remote_id} failed: ${poll.message ?? 'the provider gave no reason'}`;
    sink.status('failed', { remote_id, error_code: known ? given : 'UPSTREAM_ERROR', message: given && !known ? `${why} (provider code ${given})` : why });
  } else {
    sink.status('cancelled', { remote_id, message: poll.message ?? `${name} job ${remote_id} was cancelled.` });
  }
}

/** The first error a backend's validate() names, as the error submit would have met. */
function refuseErrors(issues: SpecIssue[]): void {
  const first = issues.find((i) => i.severity === 'error');
  if (!first) return;
  const code: ErrorCode = Object.hasOwn(ERROR_CODES, first.code) ? (first.code as ErrorCode) : 'CONFIG_INVALID';
  throw new FinetuneError(code, first.message, { details: { field: first.field } });
}

const isRemoteStatus = (status: string): status is RemoteStatus => (REMOTE_STATUSES as readonly string[]).includes(status);
const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0;

function recordPath(spec: TrainingSpec): string {
  return join(spec.output_dir, RECORD_FILE);
}

function saveRecord(spec: TrainingSpec, record: RemoteJobRecord): void {
  writeFileAtomic(recordPath(spec), `${JSON.stringify(record, null, 2)}\n`);
}

/** The saved record, or undefined when there is none or it cannot be read (following starts afresh: points are deduplicated by step). */
function loadRecord(spec: TrainingSpec, logger: Logger): RemoteJobRecord | undefined {
  const path = recordPath(spec);
  if (!existsSync(path)) return undefined;
  try {
    const saved = JSON.parse(readFileSync(path, 'utf8')) as Partial<RemoteJobRecord>;
    if (typeof saved.remote_id !== 'string') return undefined;
    return { state: {}, unknown_statuses: [], metric_steps: {}, checkpoint_steps: [], ...saved, remote_id: saved.remote_id };
  } catch (error) {
    logger.warn({ err: error, path, job_id: spec.job_id }, 'the remote job record is unreadable; following afresh');
    return undefined;
  }
}
