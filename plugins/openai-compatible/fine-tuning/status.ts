import type { RemoteStatus } from '../../../src/plugins/providers.js';

const OPENAI_STATES: Record<string, RemoteStatus> = {
  validating_files: 'queued',
  queued: 'queued',
  running: 'running',
  // A paused job keeps its slot and resumes where it stopped: it is still running for us.
  paused: 'running',
  pausing: 'running',
  resuming: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
};

/** OpenAI's job status as a remote status; an unknown one is passed on as OpenAI's word (the host reports it). */
export function mapOpenAIStatus(status: string): RemoteStatus | (string & {}) {
  return Object.hasOwn(OPENAI_STATES, status) ? OPENAI_STATES[status] : status;
}

export function hasEnded(status: string): boolean {
  const mapped = mapOpenAIStatus(status);
  return mapped === 'succeeded' || mapped === 'failed' || mapped === 'cancelled';
}

/**
 * OpenAI metric names as our series: train/valid loss become the standard `loss` / `eval_loss`
 * every backend reports; the rest keep OpenAI's names.
 */
export const OPENAI_METRIC_NAMES: Record<string, string> = {
  train_loss: 'loss',
  valid_loss: 'eval_loss',
  full_valid_loss: 'full_eval_loss',
  train_mean_token_accuracy: 'train_mean_token_accuracy',
  valid_mean_token_accuracy: 'valid_mean_token_accuracy',
  full_valid_mean_token_accuracy: 'full_valid_mean_token_accuracy',
};
