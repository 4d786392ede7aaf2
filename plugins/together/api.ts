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

/** Together's job status as ours; unknown ones give undefined (reported, never fatal). */
export function mapTogetherStatus(status: string): 'preparing' | 'running' | 'succeeded' | 'failed' | 'cancelled' | undefined {
  switch (status) {
    // Waiting in Together's queue is still `preparing` for our ledger (preparing → queued is not a legal move).
    case 'pending':
    case 'queued':
      return 'preparing';
    case 'running':
    case 'compressing':
    case 'uploading':
    // Still stopping: it becomes `cancelled` when Together is done.
    case 'cancel_requested':
      return 'running';
    case 'completed':
      return 'succeeded';
    case 'error':
    case 'user_error':
      return 'failed';
    case 'cancelled':
      return 'cancelled';
    default:
      return undefined;
  }
}
