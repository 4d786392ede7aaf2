/**
 * The provider interfaces plugins implement. The control plane (src/training), the evaluation
 * stage (src/evaluation) and the registry call them; plugins never see MCP types.
 */

/** What a training job optimises: next-token SFT, DPO, a classification head, or an embedding model. */
export type TrainingMethod = 'sft' | 'dpo' | 'classification' | 'embedding';

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
  /** Classification: per-label weights of the cross-entropy ("balanced" = n / (classes × count), as sklearn); unset = equal. */
  class_weights?: 'balanced' | Record<string, number>;
  /** Classification / embedding: how a row's hidden states become one vector; unset = last for classification, mean for embedding. */
  pooling?: 'mean' | 'last' | 'cls';
  /** Embedding: the loss (src/training/embedding-loss.ts); unset = cosine on scored pairs, MultipleNegativesRanking otherwise. */
  embedding_loss?: 'mnrl' | 'triplet' | 'cosine';
}

export interface TrainingConfigRecord {
  config_id: string;
  base_model: string;
  dataset_id: string;
  method: TrainingMethod;
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
  /** Stops following the job in this process (server shutdown); the job itself runs on. */
  detach?(): void;
}

/**
 * A backend that runs jobs in a process of its own on this machine (the local engine's detached
 * worker): it starts the job and reports through the sink; the host keeps the ledger (docs/plugin-sdk.md).
 */
export interface WorkerTrainingBackend {
  kind?: 'worker';
  validate(spec: TrainingSpec): Promise<SpecIssue[]>;
  start(spec: TrainingSpec, sink: JobSink): Promise<JobHandle>;
  attach?(remoteId: string, spec: TrainingSpec, sink: JobSink): Promise<JobHandle>;
  /** A short measured run of this spec (estimate_resources calibrate=true): how fast it trains here. */
  measure?(spec: TrainingSpec): Promise<Measurement>;
  quote?(spec: TrainingSpec, basis: QuoteBasis): Promise<Quote>;
}

/** Throughput of a short measured run; the host times the whole run from it. */
export interface Measurement {
  /** Real (non-padding) training tokens per second. */
  tokens_per_s: number;
}

/**
 * What the host has worked out about a run when it asks a backend for a price: a backend priced per
 * token or per hour multiplies its own list price; one with a price API may ask it when `calibrate`.
 */
export interface QuoteBasis {
  /** Training tokens over all epochs, as the host counted them. */
  tokens: number;
  /** Seconds of training on `device`, from FLOPs or a measured run. */
  seconds: number;
  /** The device the run is timed on (one of the backend's `devices`). */
  device: string;
  /** estimate_resources calibrate=true: the backend may ask its provider (and upload data to do it); otherwise list prices only, offline. */
  calibrate: boolean;
}

/** What a run would cost on a backend, and how that figure was reached. */
export interface Quote {
  usd: number;
  /** How the figure was reached, e.g. "12,400 billed tokens × 3 epochs at $3.00 per 1M (Together, 2026-11)". */
  basis: string;
  /** Training tokens as the provider counts (and bills) them, when it said. */
  billed_tokens?: number;
}

/** The five states a remote provider's job is mapped to. Anything else a poll returns is an unknown status: the host reports it once and keeps following. */
export const REMOTE_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type RemoteStatus = (typeof REMOTE_STATUSES)[number];

/** What the host passes to every remote call of one job. */
export interface RemoteJobContext {
  job_id: string;
  /** The job's folder on this machine (downloaded artifacts go under it). */
  output_dir: string;
  /**
   * The plugin's own small state for this job (a cursor such as the last event id), JSON only. The host
   * persists it after every poll and gives it back after a restart; the plugin mutates it in place.
   */
  state: Record<string, unknown>;
  /** Aborted when the host stops following the job (detach on shutdown): pass it to every request a poll makes. */
  signal?: AbortSignal;
}

/** One look at a remote job. Only `status` is required; the rest is reported when the provider has it. */
export interface RemotePoll {
  /** One of REMOTE_STATUSES; the provider's own word when it is none of them (the host treats it as unknown). */
  status: RemoteStatus | (string & {});
  step?: number;
  total_steps?: number;
  /** Latest values, recorded at `step`. */
  metrics?: Record<string, number>;
  /** What the provider says now; on 'failed', why. */
  message?: string;
  /** Our error code for a failed job (default UPSTREAM_ERROR). */
  error_code?: string;
  /** On 'succeeded': the trained model, as a model reference the plugin's inference provider (if any) can run, e.g. `together:acct/model-ft`. */
  result?: {
    model_ref: string;
    meta?: Record<string, unknown>;
    /** A PEFT adapter folder the plugin brought into the job (`<output_dir>/output/adapter`): the host records it as the job's 'adapter' artifact. */
    adapter_dir?: string;
  };
  /** Points and events that happened between polls (metric series, provider log lines, checkpoints). */
  metric_points?: Array<{ name: string; step: number; value: number }>;
  events?: Array<{ type: string; message: string; level?: 'info' | 'warning' | 'error'; data?: Record<string, unknown> }>;
  checkpoints?: Array<{ step: number; model_ref: string; metrics?: Record<string, number> }>;
}

/**
 * A training backend whose jobs run at a provider. The plugin writes only what differs between
 * providers; the host owns following (polling with backoff), persistence of the remote id and of
 * `ctx.state`, re-attachment after a restart, cancellation, detach on shutdown, unknown statuses and events.
 */
export interface RemoteTrainingBackend {
  kind: 'remote';
  /** Pre-flight checks beyond the host's own (model names, provider limits). */
  validate?(spec: TrainingSpec): Promise<SpecIssue[]>;
  /** Uploads the files and creates the job. Must not leave a job behind when it throws. */
  submit(job: { job_id: string; spec: TrainingSpec; files: { train: string; validation?: string } }, ctx: RemoteJobContext): Promise<{ remote_id: string }>;
  poll(remote_id: string, ctx: RemoteJobContext): Promise<RemotePoll>;
  /** Asks the provider to stop the job; cancelling an ended job is not an error. */
  cancel(remote_id: string, ctx: RemoteJobContext): Promise<void>;
  quote?(spec: TrainingSpec, basis: QuoteBasis): Promise<Quote>;
  /** Poll intervals: the first wait, growing ×1.5 while nothing changes up to max (defaults 5 s and 60 s). */
  poll_interval_ms?: { initial: number; max: number };
}

export type TrainingBackend = WorkerTrainingBackend | RemoteTrainingBackend;

export function isRemoteBackend(backend: TrainingBackend): backend is RemoteTrainingBackend {
  return backend.kind === 'remote';
}

export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant';
  content: string;
}

export interface InferenceRequest {
  /** The model reference without the plugin prefix: `together:acct/model-ft` reaches the together provider as `acct/model-ft`. */
  model: string;
  messages: ChatMessage[];
  max_tokens?: number;
  temperature?: number;
  /** Nucleus sampling (with temperature > 0), e.g. 0.9; providers that cannot take it ignore it. */
  top_p?: number;
  /** Stop before the first of these strings (the text returned ends before it). */
  stop?: string[];
  seed?: number;
  /**
   * Streaming: called with each new piece of the answer as it is generated; the pieces join to the
   * result's text. A provider that cannot stream never calls it (the caller then sends the whole text).
   */
  on_text?: (delta: string) => void;
  /** Ask for the generated tokens' log-probabilities (providers that cannot leave them out). */
  logprobs?: boolean;
  signal?: AbortSignal;
  /**
   * The same prompt as plain text to continue (a completion or classification row). Providers that
   * complete raw text (the local engine) use it instead of `messages`; chat providers ignore it.
   */
  prompt?: string;
  /** A model on this machine, resolved by the host to its folders (local providers only); `model` is then its label. */
  local_model?: LocalModelFiles;
  /**
   * OpenAI-style structured output: the answer must be JSON matching the schema. Chat-completions
   * providers send it as `response_format`; a provider that cannot constrain its output (the local
   * engine) ignores it, so callers always parse and validate the text they get back.
   */
  response_format?: JsonSchemaFormat;
}

/** `response_format: {type: "json_schema", json_schema: {name, schema, strict}}` of the chat-completions API. */
export interface JsonSchemaFormat {
  type: 'json_schema';
  json_schema: { name: string; schema: Record<string, unknown>; strict?: boolean };
}

/** A model on this machine: its Hugging Face-layout folder and, for a fine-tune, the adapter folder to merge. */
export interface LocalModelFiles {
  base_dir: string;
  adapter_dir: string | null;
}

export interface InferenceResult {
  text: string;
  finish_reason: string | null;
  usage: { prompt_tokens: number; completion_tokens: number } | null;
  request_id?: string | null;
  /** What the request cost in USD, when the provider reports it with the answer. */
  cost_usd?: number;
  /** Log-probability of each generated token, when asked for and the provider has them. */
  token_logprobs?: number[];
  /** What ran it, when the provider knows better than its plugin name (the local engine: the ONNX Runtime execution provider, e.g. "cpu"). */
  runtime?: string;
}

/**
 * One sequence to score teacher-forced, rendered as generation would render it: `messages` (chat) or
 * `prompt` (plain text) followed by `answer`; or `text` alone, every token of it scored.
 */
export interface ScoreItem {
  messages?: ChatMessage[];
  prompt?: string;
  answer?: string;
  text?: string;
  /** Its line in `ScoreRequest.file`. */
  line?: number;
}

export interface ScoreRequest {
  /** As in InferenceRequest. */
  model: string;
  local_model?: LocalModelFiles;
  items: ScoreItem[];
  /** Also score the answer tokens alone (answer_nll); false saves a pass when only the whole sequence matters. */
  answers?: boolean;
  /** The file the items came from, for messages about a row that cannot be rendered. */
  file?: string;
  signal?: AbortSignal;
}

/** Negative log-likelihood (nats) over every token after BOS, and over the answer tokens only. */
export interface SequenceScore {
  nll: number;
  tokens: number;
  answer_nll: number;
  answer_tokens: number;
  runtime?: string;
}

/** Generates text with a model for evaluation, judging and comparison; a model reference's `<plugin>:` prefix picks the provider. */
export interface InferenceProvider {
  generate(request: InferenceRequest): Promise<InferenceResult>;
  /**
   * Optional: teacher-forced log-likelihoods (perplexity, token loss), one per item in order. Only
   * providers that see the model's token probabilities implement it (the local engine); without it
   * evaluation offers text and label metrics only.
   */
  score?(request: ScoreRequest): Promise<SequenceScore[]>;
  /** Optional: the head a model on this machine has (a classifier with its labels, an embedding model), null for a plain language model. */
  head?(request: HeadRequest): Promise<{ task: 'classification' | 'embedding'; labels: string[] } | null>;
  /** Optional: a classifier's label and label probabilities for each text. */
  classify?(request: HeadRequest & { texts: string[] }): Promise<Array<{ label: string; probabilities: Record<string, number> }>>;
  /** Optional: L2-normalised embeddings of each text (a plain language model is mean-pooled: the baseline of an embedding fine-tune). */
  embed?(request: HeadRequest & { texts: string[] }): Promise<Float32Array[]>;
}

/** A model with a head (classification, embedding), as evaluation and the classify tool ask for it. */
export interface HeadRequest {
  model: string;
  local_model?: LocalModelFiles;
  signal?: AbortSignal;
}

/** One tensor of an exported graph's interface; symbolic dims are names, e.g. "batch_size". */
export interface ExportedTensor {
  name: string;
  dtype: string;
  shape: string[];
}

/** What an exporter wrote into the folder it was given. */
export interface ExportResult {
  /** Paths relative to the folder, e.g. ["config.json", "onnx/model.onnx"]. */
  files: string[];
  /** The main graph or weights file, relative to the folder, e.g. "onnx/model.onnx". */
  model_file: string;
  /** Whether weights went to a separate data file. */
  external_data: boolean;
  /** ONNX opset of the graph, e.g. 17 (formats without one: 0). */
  opset: number;
  inputs: ExportedTensor[];
  outputs: ExportedTensor[];
}

/**
 * Writes a local model in another runtime's format (the local plugin: a standalone ONNX decoder
 * in the transformers.js layout) for export_model. The host resolves the model reference, picks
 * and confines the output folder and renames it into place; the exporter only fills `dir`.
 */
export interface ModelExporter {
  /** The format written, e.g. "onnx". */
  format: string;
  export(request: {
    /** The base model's Hugging Face folder. */
    base_dir: string;
    /** A PEFT adapter folder to merge into the base, if any. */
    adapter_dir?: string;
    /** An empty temp folder to write into. */
    dir: string;
    /** Weights in a separate file: past the format's size limit ("auto"), "always" or "never". */
    external_data: 'auto' | 'always' | 'never';
  }): Promise<ExportResult>;
}

/**
 * Feedback on a span as telemetry stores it (Phoenix span annotations, the same shape in exported
 * files). `document_position` marks feedback on one retrieved document of a retriever/reranker span.
 */
export interface TelemetryAnnotation {
  id: string;
  span_id: string;
  name: string;
  annotator_kind: 'HUMAN' | 'LLM' | 'CODE' | string;
  label: string | null;
  score: number | null;
  explanation: string | null;
  metadata: Record<string, unknown>;
  /** 0-based index into the span's documents (retrieval.documents / reranker.output_documents). */
  document_position?: number;
}

/**
 * One span in a neutral shape, whatever it came from (Phoenix REST, an OpenInference JSONL dump,
 * an OTLP/JSON export): attributes flattened to dot paths (`llm.input_messages.0.message.role`),
 * ids as lower-case hex, with the feedback attached to it.
 */
export interface TelemetrySpan {
  trace_id: string;
  span_id: string;
  parent_id: string | null;
  name: string;
  /** OpenInference span kind when known (LLM, RETRIEVER, RERANKER, CHAIN, TOOL…), else the source's own. */
  span_kind: string;
  status_code: string;
  status_message?: string;
  start_time: string | null;
  attributes: Record<string, unknown>;
  annotations: TelemetryAnnotation[];
  /** Where the span was read: a project name, or a file and line. */
  origin: string;
}

export type OnSkip = (skipped: { ref: string; reason: string }) => void;

export interface DataSource {
  /**
   * Pulls rows from an external system (telemetry, knowledge base) as canonical dataset rows;
   * records it cannot use are reported through `onSkip` (what, and why), never dropped silently.
   */
  extract(query: Record<string, unknown>, onSkip?: OnSkip): AsyncIterable<Record<string, unknown>>;
  /**
   * Telemetry sources: spans with their annotations, for the host to build SFT chats, DPO pairs or
   * retrieval triplets from (src/datasets/telemetry). When present, extract_dataset uses it.
   */
  spans?(query: Record<string, unknown>, onSkip?: OnSkip): AsyncIterable<TelemetrySpan>;
  /**
   * Optional: writes feedback (a judge's scores) back onto the source's own records, e.g. Phoenix span
   * annotations. Never throws for a record it could not write: each is named in `failed` with the reason.
   */
  annotate?(feedback: SourceFeedback[]): Promise<{ written: number; failed: Array<{ ref: string; reason: string }> }>;
}

/** One score for one record of a data source, as judge_outputs writes it back. */
export interface SourceFeedback {
  /** The record as the source named it in the extracted row's metadata (Phoenix: the span id). */
  ref: string;
  /** What was judged, e.g. the rubric name "helpfulness". */
  name: string;
  annotator_kind: 'LLM' | 'HUMAN' | 'CODE';
  score: number;
  explanation?: string;
  /** Feedback sent again with the same name and identifier replaces the earlier one instead of adding another. */
  identifier?: string;
  metadata?: Record<string, unknown>;
}

export interface JudgeVerdict {
  winner: 'a' | 'b' | 'tie';
  rationale?: string;
}

export interface Judge {
  compare(input: { question: string; answer_a: string; answer_b: string; criteria?: string[] }): Promise<JudgeVerdict>;
}
