import { toFinetuneError, type FinetuneError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { JobSink } from './providers.js';

interface FollowOptions {
  /** First wait between polls; it grows ×1.5 while nothing changes, up to maxMs, and resets on change. */
  initialMs: number;
  maxMs: number;
  /** One poll: 'changed' resets the backoff, 'same' grows it, 'done' stops following. */
  tick(): Promise<'changed' | 'same' | 'done'>;
  /** A poll failed (after the client's own retries): keep going or stop. */
  onError(error: FinetuneError): 'continue' | 'stop';
}

interface Follower {
  /** Polls now instead of waiting for the timer (after a cancel, say). */
  nudge(): void;
  /** Stops polling; the remote job is untouched. */
  stop(): void;
  /** Settles when following stops (done, stopped or given up). */
  readonly finished: Promise<void>;
}

/**
 * Follows a remote job by polling with backoff. One poll runs at a time; timers are unref'd so a
 * followed job never keeps a finished process alive (attach() picks it up after a restart).
 */
export function follow(options: FollowOptions): Follower {
  let delay = options.initialMs;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running = false;
  let again = false;
  let settle!: () => void;
  const finished = new Promise<void>((resolve) => (settle = resolve));

  const finish = () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    settle();
  };
  const schedule = (ms: number) => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(run, ms);
    timer.unref();
  };
  async function run(): Promise<void> {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      const outcome = await options.tick();
      if (outcome === 'done') return finish();
      delay = outcome === 'changed' ? options.initialMs : Math.min(options.maxMs, Math.round(delay * 1.5));
    } catch (error) {
      let verdict: 'continue' | 'stop' = 'stop';
      try {
        verdict = options.onError(toFinetuneError(error));
      } catch {
        // The sink itself failed (its workspace closed with the server): nobody listens any more.
      }
      if (verdict === 'stop') return finish();
      delay = Math.min(options.maxMs, Math.round(delay * 2));
    } finally {
      running = false;
    }
    if (again) {
      again = false;
      schedule(0);
    } else schedule(delay);
  }
  schedule(0);
  return { nudge: () => schedule(0), stop: finish, finished };
}

/**
 * The shared reaction to a failed poll of a remote job: a retryable failure is reported and polling
 * goes on; any other marks our job interrupted (the remote job may still run, so attach() can pick it up).
 */
export function onPollError(provider: string, logger: Logger, sink: JobSink, remoteId: () => string): (error: FinetuneError) => 'continue' | 'stop' {
  return (error) => {
    logger.warn({ err: error, remote_id: remoteId() }, `polling the ${provider} job failed`);
    if (error.retryable) {
      sink.event('poll_retry', `${error.message}; polling again later.`, { code: error.code });
      return 'continue';
    }
    sink.status('interrupted', { remote_id: remoteId(), error_code: error.code, message: error.message });
    return 'stop';
  };
}
