import type { Logger } from 'pino';
import { FinetuneError } from '../errors.js';
import type { z } from 'zod';
import type { DataSource, InferenceProvider, Judge, ModelExporter, TrainingBackend, TrainingMethod } from './providers.js';

export type { TrainingMethod };

/** The plugin API version this server speaks; a plugin built for another is refused at registration. */
export const PLUGIN_API_VERSION = 2;

export const PROVIDER_KINDS = ['training_backend', 'inference', 'data_source', 'judge', 'exporter'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

export interface TrainingCapabilities {
  methods: TrainingMethod[];
  approaches: Array<'lora' | 'qlora' | 'full'>;
  /**
   * Dataset task types (docs/CONVENTIONS.md) each method trains, e.g. {sft: ['chat', 'completion'],
   * dpo: ['preference']}. configure_training refuses other data; a backend that does not declare
   * this is taken to train sft on chat/completion/text and dpo on preference.
   */
  tasks?: Partial<Record<TrainingMethod, string[]>>;
  /**
   * The approaches a method trains with where they are fewer than `approaches`, e.g.
   * {classification: ['lora', 'full']}. configure_training refuses the others for that method.
   */
  method_approaches?: Partial<Record<TrainingMethod, Array<'lora' | 'qlora' | 'full'>>>;
  resume: boolean;
  cancel: boolean;
  /** Devices or GPU types the backend can run on, e.g. ['cpu'] or ['A100-80GB', 'H100']. */
  devices: string[];
  /**
   * Machine types the backend takes in `backend_options.instance_type` (a cloud's names, e.g.
   * `ml.g5.xlarge`), each with the device of `devices` it carries: a plan for an instance type is
   * sized and priced for that device.
   */
  instance_types?: Record<string, string>;
  /** GPUs each of those machine types carries: a job on one runs a trainer process on each (plans count them). */
  instance_gpus?: Record<string, number>;
  /**
   * The most devices (GPUs) one job may use: data parallel for adapters, sharded (ZeRO-3 / FSDP) for a
   * full fine-tune. Plans recommend a device count up to it when one device is too small. Default 1.
   */
  max_devices?: number;
  /** True when jobs run on someone else's machines (the job outlives this process by design). */
  remote: boolean;
  /** True when the backend can also generate with the trained model (for evaluation). */
  inference: boolean;
  max_concurrent_jobs: number;
}

export interface PluginCapabilities {
  training?: TrainingCapabilities;
  [other: string]: unknown;
}

/**
 * The host's record of a job's detached worker process (the local backend's side of the ledger
 * contract, docs/plugin-sdk.md): the backend spawns the worker, the host keeps who runs the job.
 */
export interface WorkerLedger {
  /** Records the process that runs a job (its start identity is taken now) and the backend's remote id. */
  record(job_id: string, who: { worker_pid: number; remote_id: string }): void;
  /** The worker recorded for a job: pid and start identity (null where none could be read). */
  recorded(job_id: string): { worker_pid: number | null; worker_start: string | null } | undefined;
  /** This process saw the worker exit (a kill, a crash): the host notes how, if the job had not ended. */
  exited(job_id: string, pid: number, code: number | null, signal: string | null): void;
}

/**
 * What the host gives a plugin: its validated config, a logger, the environment, a folder of its own
 * and the worker ledger. Nothing of the server's internals: a plugin works through its providers.
 */
export interface PluginContext<Config> {
  config: Config;
  /** pino, bound to `{plugin: <name>}`; writes to stderr (stdout belongs to the MCP transport). */
  logger: Logger;
  env: Readonly<Record<string, string | undefined>>;
  /** `<workspace>/plugins/<name>`: the plugin's own files (caches, downloads). Created before create() runs. */
  data_dir: string;
  workers: WorkerLedger;
}

/** Why a plugin cannot provide something, and what the user does about it. */
export interface Unavailable {
  reason: string;
  fix: string;
}

/**
 * What `probe()` answers: whether the plugin can work here and, when not, why and how to fix it.
 * An available plugin may withhold some of the kinds it declares (e.g. openai-compatible offers a
 * training backend only when its config has a fine_tuning section): those are listed as disabled
 * with their own reason and fix, and asking for one gives PLUGIN_UNAVAILABLE with them.
 */
export type ProbeResult =
  | { available: true; details?: Record<string, unknown>; withheld?: Partial<Record<ProviderKind, Unavailable>> }
  | ({ available: false } & Unavailable);

export interface PluginProviders {
  training_backend?: TrainingBackend;
  data_source?: DataSource;
  judge?: Judge;
  inference?: InferenceProvider;
  /** Writes local models in another format (export_model). */
  exporter?: ModelExporter;
}

export interface PluginMeta {
  /** Lower-case name, unique on a server: `local`, `openai`, `acme-trainer`. */
  name: string;
  /** The plugin's own semver version. */
  version: string;
  api_version: number;
  description: string;
}

export interface PluginDefinition<Config = unknown> {
  meta: PluginMeta;
  provides: ProviderKind[];
  capabilities: PluginCapabilities;
  /** Validates the plugin's section of the config (`plugins.<name>`); defaults apply when absent. */
  configSchema?: z.ZodType<Config>;
  /** Cheap check at start-up: no heavy imports, no network unless essential. */
  probe?(ctx: PluginContext<Config>): Promise<ProbeResult> | ProbeResult;
  /** Builds the providers on first use; heavy native modules are imported here, lazily. */
  create(ctx: PluginContext<Config>): Promise<PluginProviders> | PluginProviders;
}

/** Identity helper that keeps the config type flowing from the schema to probe() and create(). */
export function definePlugin<Config>(definition: PluginDefinition<Config>): PluginDefinition<Config> {
  return definition;
}

/**
 * A config's method for backends that train text methods only (SFT, DPO). configure_training
 * refuses the others for such a backend from its declared capabilities; this keeps a stored config
 * of another method from reaching a text-only converter.
 */
export function textMethod(method: TrainingMethod, backend: string): 'sft' | 'dpo' {
  if (method === 'sft' || method === 'dpo') return method;
  throw new FinetuneError('CAPABILITY_UNSUPPORTED', `Backend "${backend}" trains sft or dpo, not ${method}.`, {
    recovery: 'Configure the job on a backend whose list_backends entry lists this method (the local backend trains classification and embedding).',
    details: { field: 'method' },
  });
}
