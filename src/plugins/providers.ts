/**
 * The provider interfaces plugins implement. The control plane (src/training), the evaluation
 * stage (src/evaluation) and the registry call them; plugins never see MCP types.
 */

/** What a backend receives to run: a frozen training config plus resolved paths. Shaped by src/training. */
export interface TrainingSpec {
  job_id: string;
  config: Record<string, unknown>;
  /** Absolute folder the job writes outputs and checkpoints into. */
  output_dir: string;
  [key: string]: unknown;
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
  /** Pulls rows from an external system (telemetry, knowledge base) as canonical dataset rows. */
  extract(query: Record<string, unknown>): AsyncIterable<Record<string, unknown>>;
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
