import type { RemotePoll, SpecIssue, TrainingSpec } from '../plugins/providers.js';
import type { TrainingCapabilities } from '../plugins/types.js';
import { parseEventLines, type TrainerLogReport } from './event-lines.js';

/**
 * What every backend that runs the container trainer (trainer/) shares: the spec as the trainer
 * sees it on the remote machine, the check that the base model can be downloaded there, and the
 * reading of its event lines into a poll, with a cursor kept in the job's persisted plugin state.
 */

/**
 * What the container trainer trains (LoRA/QLoRA SFT and DPO; a full fine-tune where the backend runs
 * it on its own GPUs, sharded over several), as a backend that runs it declares: only where it runs
 * differs. Resume is the trainer's own (from its last checkpoint), so resume_training is not offered.
 */
export function containerTrainerCapabilities(where: Pick<TrainingCapabilities, 'devices'> & Partial<Pick<TrainingCapabilities, 'approaches' | 'instance_types' | 'instance_gpus' | 'max_concurrent_jobs' | 'max_devices'>>): TrainingCapabilities {
  return {
    methods: ['sft', 'dpo'],
    approaches: ['lora', 'qlora'],
    tasks: { sft: ['chat', 'completion', 'text'], dpo: ['preference'] },
    resume: false,
    cancel: true,
    remote: true,
    inference: false,
    max_concurrent_jobs: 8,
    ...where,
  };
}

/** The most GPUs one container-trainer job is planned on (8 nodes of 8): the launch itself has no such limit. */
const MAX_DEVICES = 64;

/** Where the trainer runs on several GPUs it also runs a full fine-tune (FSDP full_shard over them, trainer/ftm_trainer/spec.py). */
export const MULTI_GPU_TRAINER: Pick<TrainingCapabilities, 'approaches' | 'max_devices'> = { approaches: ['lora', 'qlora', 'full'], max_devices: MAX_DEVICES };

/** Where the job's files are on the remote machine. */
export interface RemotePaths {
  output_dir: string;
  dataset_dir: string;
  train_path: string;
  validation_path: string | null;
}

/** The spec the trainer reads remotely: paths there, the base model by its Hugging Face id (backend_options.hf_model wins). */
export function containerSpec(spec: TrainingSpec, paths: RemotePaths): Record<string, unknown> {
  const hfModel = spec.config.backend_options.hf_model;
  return {
    ...spec,
    output_dir: paths.output_dir,
    config: typeof hfModel === 'string' ? { ...spec.config, base_model: hfModel } : spec.config,
    dataset: { ...spec.dataset, dir: paths.dataset_dir, train_path: paths.train_path, validation_path: paths.validation_path },
    model: { ...spec.model, dir: '' },
  };
}

/** A warning when the base model is neither a Hugging Face id nor named by backend_options.hf_model: the trainer downloads it by id. */
export function hubModelIssue(spec: TrainingSpec, where: string): SpecIssue | undefined {
  if (spec.model.dir !== '' || spec.config.backend_options.hf_model || spec.config.base_model.includes('/')) return undefined;
  return {
    severity: 'warning',
    code: 'MODEL_UNKNOWN',
    field: 'base_model',
    message: `'${spec.config.base_model}' does not look like a Hugging Face model id; the trainer downloads the base model by id on ${where} (set backend_options.hf_model).`,
  };
}

/** The trainer's last word, kept between polls in ctx.state (JSON only: undefined values are left out). */
export interface TrainerCursor {
  step?: number;
  total_steps?: number;
  error_code?: string;
  trainer_message?: string;
  adapter_path?: string;
  /** Where the trainer also wrote the output (backend_options.output_uri), once it said so. */
  output_uri?: string;
  /** What the output is: `adapter` (PEFT) or `model` (a full fine-tune's weights). */
  output_kind?: string;
}

/** Parses new, complete log lines and folds them into the cursor in `state`; returns what they said. */
export function foldTrainerLog(state: Record<string, unknown>, text: string): { report: TrainerLogReport; cursor: TrainerCursor } {
  const report = parseEventLines(text);
  const cursor = state as TrainerCursor;
  const keep = <K extends keyof TrainerCursor>(key: K, value: TrainerCursor[K] | undefined) => {
    if (value === undefined) delete cursor[key];
    else cursor[key] = value;
  };
  keep('step', report.step ?? cursor.step);
  keep('total_steps', report.total_steps ?? cursor.total_steps);
  keep('adapter_path', report.adapter_path ?? cursor.adapter_path);
  keep('output_uri', report.output_uri ?? cursor.output_uri);
  keep('output_kind', report.output_kind ?? cursor.output_kind);
  if (report.state) {
    keep('error_code', report.error_code);
    keep('trainer_message', report.message);
  }
  return { report, cursor };
}

/** The poll's trainer part: progress, metric points, checkpoints (as `<provider>:<where>` references) and events. */
export function trainerPoll(status: string, report: TrainerLogReport, cursor: TrainerCursor, provider: string, where: (path: string) => string): RemotePoll {
  const skipped = report.skipped ? [{ type: 'remote_event', level: 'warning' as const, message: `${report.skipped} trainer event line(s) in the ${provider} logs did not parse and were skipped.` }] : [];
  return {
    status,
    step: cursor.step,
    total_steps: cursor.total_steps,
    metric_points: report.metric_points,
    checkpoints: report.checkpoints.map((c) => ({ step: c.step, model_ref: `${provider}:${where(c.path)}` })),
    events: [...report.events, ...skipped],
  };
}

/**
 * backend_options.output_uri as the trainer accepts it (trainer/ftm_trainer/artifacts.py): an absolute
 * path on the training machine, s3://bucket/key, hf://[datasets/|spaces/]owner/name[@revision][/path]
 * or abfs://container[@account.dfs.core.windows.net]/path. Checked before a job starts, not after it trained.
 */
const OUTPUT_URI = [
  /^\/\S*$/,
  /^file:\/\/\/\S*$/,
  /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/\S*)?$/,
  /^hf:\/\/(?:(?:datasets|spaces)\/)?[\w.-]+\/[\w.-]+(?:@[\w.\-/%]+?)?(?:\/\S*)?$/,
  /^abfss?:\/\/[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])?(?:@[a-z0-9]{3,24}\.dfs\.core\.windows\.net)?(?:\/\S*)?$/,
];

/** The error for a backend_options.output_uri the trainer would refuse. */
export function outputUriIssue(options: Record<string, unknown>): SpecIssue | undefined {
  const uri = options.output_uri;
  if (uri === undefined || (typeof uri === 'string' && OUTPUT_URI.some((form) => form.test(uri)))) return undefined;
  return {
    severity: 'error',
    code: 'CONFIG_INVALID',
    field: 'backend_options.output_uri',
    message: `output_uri must be an absolute path on the training machine, s3://<bucket>/<prefix>, hf://<owner>/<repo>[/<path>] or abfs://<container>[@<account>.dfs.core.windows.net]/<path>; got ${JSON.stringify(uri)}.`,
  };
}

/** The result meta of the trainer's output: its format (a PEFT adapter, or a full model in Hugging Face layout) and where it was also written. */
export function outputMeta(cursor: TrainerCursor): { format: 'peft' | 'hf'; output_uri?: string } {
  return { format: cursor.output_kind === 'model' ? 'hf' : 'peft', ...(cursor.output_uri ? { output_uri: cursor.output_uri } : {}) };
}
