import type { z } from 'zod';
import type { Logger } from '../observability/logger.js';
import type { Workspace } from '../workspace/workspace.js';
import type { DataSource, InferenceProvider, Judge, ModelExporter, TrainingBackend } from './providers.js';

/** The plugin API version this server speaks; a plugin built for another is refused at registration. */
export const PLUGIN_API_VERSION = 2;

export const PROVIDER_KINDS = ['training_backend', 'inference', 'data_source', 'judge', 'exporter'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

export interface TrainingCapabilities {
  methods: Array<'sft' | 'dpo'>;
  approaches: Array<'lora' | 'qlora' | 'full'>;
  /**
   * Dataset task types (docs/CONVENTIONS.md) each method trains, e.g. {sft: ['chat', 'completion'],
   * dpo: ['preference']}. configure_training refuses other data; a backend that does not declare
   * this is taken to train sft on chat/completion/text and dpo on preference.
   */
  tasks?: Partial<Record<'sft' | 'dpo', string[]>>;
  resume: boolean;
  cancel: boolean;
  /** Devices or GPU types the backend can run on, e.g. ['cpu'] or ['A100-80GB', 'H100']. */
  devices: string[];
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

export interface PluginContext<Config> {
  config: Config;
  logger: Logger;
  workspace: Workspace;
  env: Readonly<Record<string, string | undefined>>;
}

/** What `probe()` answers: whether the plugin can work here and, when not, why and how to fix it. */
export type ProbeResult = { available: true; details?: Record<string, unknown> } | { available: false; reason: string; fix: string };

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
