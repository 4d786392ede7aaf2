import type { RemotePoll } from '../plugins/providers.js';

/**
 * The one reader of the container trainer's event lines (trainer/EVENTS.md,
 * trainer/event-line.schema.json; the emitter is trainer/ftm_trainer/events.py): every backend that
 * follows a job through its logs (Ray, SageMaker, Azure ML) turns new log text into a RemotePoll's
 * points, checkpoints and events with it.
 */
export const EVENT_LINE_PREFIX = 'FTM_EVENT ';
const EVENT_LINE_VERSION = 1;
/** Ray forwards a Ray Train worker's stdout to the job's log behind `(RayTrainWorker pid=…, ip=…) ` (trainer/ray_train.py): the line starts after it. */
const RAY_WORKER_PREFIX = /^\([A-Za-z_][\w.:-]* pid=\d+(?:, ip=[\w.:-]+)?\) /;

/** What the trainer said in a stretch of log text. */
export interface TrainerLogReport {
  /** The latest progress line's numbers. */
  step?: number;
  total_steps?: number;
  /** The latest status line: the trainer's own word on its state, and its error code on a failure. */
  state?: string;
  message?: string;
  error_code?: string;
  /** The trained output's folder (an `artifact` line of kind adapter, or model for a full fine-tune), as the trainer saw it. */
  adapter_path?: string;
  /** Where the trainer also wrote that output (its `uri`: backend_options.output_uri). */
  output_uri?: string;
  /** That output's kind: `adapter` or `model`. */
  output_kind?: string;
  metric_points: NonNullable<RemotePoll['metric_points']>;
  /** Checkpoints as `{step, path}`: the backend makes its own model reference of the path. */
  checkpoints: Array<{ step: number; path: string }>;
  events: NonNullable<RemotePoll['events']>;
  /** Event lines that did not parse or that this version does not know (a torn write, a newer trainer). */
  skipped: number;
}

const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/**
 * Reads the event lines in `text` (other lines are ignored). Give it only complete lines: a caller
 * that reads a growing log keeps the text after the last newline for the next read (see `completeLines`).
 */
export function parseEventLines(text: string): TrainerLogReport {
  const report: TrainerLogReport = { metric_points: [], checkpoints: [], events: [], skipped: 0 };
  for (const raw of text.split('\n')) {
    const line = (raw.endsWith('\r') ? raw.slice(0, -1) : raw).replace(RAY_WORKER_PREFIX, '');
    if (!line.startsWith(EVENT_LINE_PREFIX)) continue;
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(line.slice(EVENT_LINE_PREFIX.length)) as Record<string, unknown>;
    } catch {
      report.skipped++;
      continue;
    }
    if (event === null || typeof event !== 'object' || event.v !== EVENT_LINE_VERSION || !take(report, event)) report.skipped++;
  }
  return report;
}

/** Adds one event to the report; false when its type or fields are not the format's. */
function take(report: TrainerLogReport, event: Record<string, unknown>): boolean {
  const seq = typeof event.seq === 'number' ? { seq: event.seq } : {};
  switch (event.type) {
    case 'progress':
      if (!finite(event.step) || !finite(event.total_steps)) return false;
      report.step = event.step;
      report.total_steps = event.total_steps;
      return true;
    case 'metric':
      if (typeof event.name !== 'string' || !finite(event.step) || !finite(event.value)) return false;
      report.metric_points.push({ name: event.name, step: event.step, value: event.value });
      return true;
    case 'checkpoint':
      if (!finite(event.step) || typeof event.path !== 'string') return false;
      report.checkpoints.push({ step: event.step, path: event.path });
      return true;
    case 'status':
      if (typeof event.state !== 'string') return false;
      report.state = event.state;
      report.message = typeof event.message === 'string' && event.message ? event.message : undefined;
      report.error_code = typeof event.error_code === 'string' ? event.error_code : undefined;
      report.events.push({ type: 'remote_status', message: `${event.state}${report.message ? `: ${report.message}` : ''}`, level: event.state === 'failed' ? 'error' : 'info', data: seq });
      return true;
    case 'artifact':
      if (typeof event.kind !== 'string' || typeof event.path !== 'string') return false;
      if (event.kind === 'adapter' || event.kind === 'model') {
        report.adapter_path = event.path;
        report.output_kind = event.kind;
        if (typeof event.uri === 'string') report.output_uri = event.uri;
      }
      report.events.push({ type: 'remote_artifact', message: `${event.kind} saved at ${event.path}${typeof event.uri === 'string' ? ` and written to ${event.uri}` : ''}`, data: seq });
      return true;
    case 'event':
      if (typeof event.message !== 'string') return false;
      report.events.push({ type: 'remote_event', message: event.message, data: seq });
      return true;
    default:
      return false;
  }
}

/**
 * Splits a growing log at `offset` (characters already read): the complete new lines, and the
 * offset to read from next time (a line still being written is left for then).
 */
export function completeLines(log: string, offset: number): { text: string; next_offset: number } {
  // A log shorter than what was read was replaced (a retried driver): read it again from the start.
  const from = offset <= log.length ? offset : 0;
  const end = log.lastIndexOf('\n') + 1;
  if (end <= from) return { text: '', next_offset: from };
  return { text: log.slice(from, end), next_offset: end };
}
