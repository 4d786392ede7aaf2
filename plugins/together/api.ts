import type { RemoteStatus } from '../../src/plugins/providers.js';

/** The Together fine-tuning API's objects, as its OpenAPI spec (togethercomputer/openapi) defines them. */
export interface TogetherFile {
  id: string;
  object: 'file';
  filename: string;
  bytes: number;
  purpose: string;
}

export interface TogetherJob {
  id: string;
  status: string;
  created_at: string;
  updated_at: string;
  model?: string;
  model_output_name?: string;
  training_file?: string;
  validation_file?: string;
  n_epochs?: number;
  token_count?: number;
  total_price?: number;
  events?: TogetherEvent[];
}

export interface TogetherEvent {
  object: 'fine-tune-event';
  created_at: string;
  level?: string | null;
  message: string;
  type: string;
  step?: number;
  token_count?: number;
  total_steps?: number;
  checkpoint_path?: string;
  model_path?: string;
  wandb_url?: string;
}

export interface TogetherCheckpoint {
  step: number;
  path: string;
  created_at: string;
  checkpoint_type: string;
}

export interface TogetherPriceEstimate {
  allowed_to_proceed?: boolean;
  estimated_total_price?: number;
  estimated_train_token_count?: number;
  estimated_eval_token_count?: number;
  user_limit?: number;
}

const TOGETHER_STATES: Record<string, RemoteStatus> = {
  pending: 'queued',
  queued: 'queued',
  running: 'running',
  compressing: 'running',
  uploading: 'running',
  // Still stopping: it becomes `cancelled` when Together is done.
  cancel_requested: 'running',
  completed: 'succeeded',
  error: 'failed',
  user_error: 'failed',
  cancelled: 'cancelled',
};

/** Together's job status as one of the host's five; an unknown one is passed on as it is (the host reports it once). */
export function mapTogetherStatus(status: string): RemoteStatus | string {
  return Object.hasOwn(TOGETHER_STATES, status) ? TOGETHER_STATES[status] : status;
}
