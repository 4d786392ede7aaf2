/**
 * The provider interfaces plugins implement. The control plane (src/training), the evaluation
 * stage (src/evaluation) and the registry call them; plugins never see MCP types.
 */

/** Hyperparameters of a training config, as stored (frozen) and as every backend reads them. */
export interface TrainingHyperparameters {
  epochs: number;
  /** 0 = derived from epochs × dataset size. */
  max_steps: number;
  learning_rate: number;
  /** Rows per micro-batch (pairs for DPO). */
  batch_size: number;
  gradient_accumulation: number;
  max_seq_length: number;
  warmup_ratio: number;
  lr_scheduler: 'cosine' | 'linear' | 'constant';
  weight_decay: number;
  adam_beta1: number;
  adam_beta2: number;
  adam_epsilon: number;
  /** Clip gradients by global norm; 0 = off. */
  max_grad_norm: number;
  lora_r: number;
  lora_alpha: number;
  lora_dropout: number;
  target_modules: string[] | 'all-linear';
  use_rslora: boolean;
  /** What to do when a target module does not exist in the architecture. */
  on_missing_target: 'error' | 'continue';
  dpo_beta: number;
  /** SFT loss on completion/assistant tokens only, or on every token. */
  loss_on: 'completion' | 'all';
  packing: boolean;
  /** Eval loss on the validation split every N optimizer steps; 0 = only at the end. */
  eval_steps: number;
  /** Checkpoint every N optimizer steps; 0 = only at the end. */
  save_steps: number;
  /** Keep the last K checkpoints (plus the best). */
  save_total_limit: number;
  /** Stop after this many evals without improvement; 0 = off. */
  early_stopping_patience: number;
  early_stopping_min_delta: number;
  seed: number;
}

export interface TrainingConfigRecord {
  config_id: string;
  base_model: string;
  dataset_id: string;
  method: 'sft' | 'dpo';
  approach: 'lora' | 'qlora' | 'full';
  backend: string;
  template: string;
  hyperparameters: TrainingHyperparameters;
  /** Backend-specific options (GPU type, suffix, …). */
  backend_options: Record<string, unknown>;
}

/** What a backend receives to run a job: the frozen config plus resolved inputs and outputs. */
export interface TrainingSpec {
  job_id: string;
  /** Workspace root, so a detached worker can open the same workspace. */
  home: string;
  config: TrainingConfigRecord;
  /** Absolute folder of the job: checkpoints/ and output/ go here. */
  output_dir: string;
  dataset: { dataset_id: string; task_type: string; dir: string; train_path: string; validation_path?: string };
  /** The base model's Hugging Face-layout folder (for local backends) and its record. */
  model: { model_id: string; dir: string; name: string };
  /** Continue from this checkpoint folder (resume_training). */
  resume_from?: string;
}

export interface SpecIssue {
  severity: 'error' | 'warning';
  code: string;
  field?: string;
  message: string;
}

/** Receives everything a running job reports; the job manager persists it. */
export interface JobSink {
  event(type: string, message: string, data?: Record<string, unknown>): void;
  metric(name: string, step: number, value: number): void;
  checkpoint(checkpoint: { step: number; path: string; metrics?: Record<string, number> }): void;
  artifact(artifact: { kind: string; path?: string; uri?: string; meta?: Record<string, unknown> }): void;
  status(state: string, detail?: { message?: string; error_code?: string; remote_id?: string }): void;
}

export interface JobHandle {
  /** The backend's own id (remote job id, worker pid) so a restarted server can attach again. */
  remote_id: string;
  cancel(): Promise<void>;
}

export interface TrainingBackend {
  validate(spec: TrainingSpec): Promise<SpecIssue[]>;
  estimate?(spec: TrainingSpec): Promise<Record<string, unknown>>;
  start(spec: TrainingSpec, sink: JobSink): Promise<JobHandle>;
  attach?(remoteId: string, spec: TrainingSpec, sink: JobSink): Promise<JobHandle>;
}

export interface DataSource {
  /**
   * Pulls rows from an external system (telemetry, knowledge base) as canonical dataset rows;
   * records it cannot use are reported through `onSkip` (what, and why), never dropped silently.
   */
  extract(query: Record<string, unknown>, onSkip?: (skipped: { ref: string; reason: string }) => void): AsyncIterable<Record<string, unknown>>;
}

export interface JudgeVerdict {
  winner: 'a' | 'b' | 'tie';
  rationale?: string;
}

export interface Judge {
  compare(input: { question: string; answer_a: string; answer_b: string; criteria?: string[] }): Promise<JudgeVerdict>;
}

export interface Tracker {
  logRun(run: { name: string; params: Record<string, unknown>; metrics: Record<string, number> }): Promise<{ url?: string }>;
}

export interface ModelStore {
  push(folder: string, target: string): Promise<{ uri: string }>;
}
