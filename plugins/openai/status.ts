/** Our job states (src/training) that a remote status can move a job to. */
export type JobState = 'queued' | 'preparing' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/**
 * Our ledger has the job `preparing` from the moment it is claimed until it runs (preparing →
 * queued is not a legal move), so OpenAI's own queue is still `preparing` for us.
 */
const OPENAI_STATES: Record<string, JobState> = {
  validating_files: 'preparing',
  queued: 'preparing',
  running: 'running',
  // A paused job keeps its slot and resumes where it stopped: it is still running for us.
  paused: 'running',
  pausing: 'running',
  resuming: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
};

/** OpenAI's job status as ours; an unknown status gives undefined (reported, never fatal). */
export function mapOpenAIStatus(status: string): JobState | undefined {
  return Object.hasOwn(OPENAI_STATES, status) ? OPENAI_STATES[status] : undefined;
}

export function isTerminal(state: JobState | undefined): boolean {
  return state === 'succeeded' || state === 'failed' || state === 'cancelled';
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
