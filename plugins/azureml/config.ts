import { z } from '../../src/plugin-sdk/index.js';

export const AzureMlConfigSchema = z.object({
  /** The workspace: default AZURE_SUBSCRIPTION_ID / AZUREML_ARM_SUBSCRIPTION, AZUREML_ARM_RESOURCEGROUP, AZUREML_ARM_WORKSPACE_NAME. */
  subscription_id: z.string().optional(),
  resource_group: z.string().optional(),
  workspace: z.string().optional(),
  /** The compute cluster (AmlCompute) jobs run on; backend_options.compute picks another. */
  compute: z.string().optional(),
  /** The cluster's VM size, so plans are sized and priced for it when backend_options.instance_type is not given. */
  vm_size: z.string().optional(),
  /** The trainer image (trainer/Dockerfile, pushed to a registry the workspace can pull from): registered as an environment version. */
  image: z.string().optional(),
  /** Or an environment you registered: its ARM id (…/environments/<name>/versions/<version>). */
  environment_id: z.string().optional(),
  /** The datastore the job's files go to (the workspace's default blob datastore unless named). */
  datastore: z.string().default('workspaceblobstore'),
  /** Folder in the datastore: `<path_prefix><job id>/input/` and `<path_prefix><job id>/job/`. */
  path_prefix: z.string().default('finetune-mcp/'),
  experiment_name: z.string().default('finetune-mcp'),
  trainer_command: z.string().min(1).default('python /opt/finetune-mcp/trainer/trainer.py'),
  /** limits.timeout of the command job. */
  max_runtime_s: z.number().int().min(60).default(24 * 3600),
  /** The job's environment variables (visible in the studio, so no secrets). */
  env_vars: z.record(z.string(), z.string()).default({}),
  /** Hourly prices over the built-in table (your region, your discount), per VM size. */
  usd_per_hour: z.record(z.string(), z.number().nonnegative()).default({}),
  /** Azure ML management API version (GA). */
  api_version: z.string().default('2024-04-01'),
  /** Base URLs: Azure Resource Manager; run history (default https://<workspace region>.api.azureml.ms); blob storage (default from the datastore). For sovereign clouds and tests. */
  management_url: z.string().url().default('https://management.azure.com'),
  run_history_url: z.string().url().optional(),
  blob_url: z.string().url().optional(),
  max_retries: z.number().int().min(0).max(10).default(4),
  timeout_ms: z.number().int().positive().default(60_000),
  poll_interval_ms: z.number().int().positive().default(15_000),
  max_poll_interval_ms: z.number().int().positive().default(60_000),
});

export type AzureMlConfig = z.infer<typeof AzureMlConfigSchema>;

type Env = Readonly<Record<string, string | undefined>>;

export interface AzureMlWorkspace {
  subscription_id: string;
  resource_group: string;
  workspace: string;
  compute: string;
  /** `/subscriptions/…/workspaces/<ws>`: the ARM path every call starts from. */
  path: string;
}

/** The workspace and compute from the config and environment, or why the plugin cannot work. */
export function azuremlWorkspace(config: AzureMlConfig, env: Env): AzureMlWorkspace | { reason: string; fix: string } {
  const subscription_id = config.subscription_id ?? env.AZURE_SUBSCRIPTION_ID ?? env.AZUREML_ARM_SUBSCRIPTION;
  const resource_group = config.resource_group ?? env.AZUREML_ARM_RESOURCEGROUP;
  const workspace = config.workspace ?? env.AZUREML_ARM_WORKSPACE_NAME;
  const missing = [
    ...(subscription_id ? [] : ['subscription_id (or AZURE_SUBSCRIPTION_ID)']),
    ...(resource_group ? [] : ['resource_group (or AZUREML_ARM_RESOURCEGROUP)']),
    ...(workspace ? [] : ['workspace (or AZUREML_ARM_WORKSPACE_NAME)']),
    ...(config.compute ? [] : ['compute']),
    ...(config.image || config.environment_id ? [] : ['image or environment_id']),
  ];
  if (missing.length) {
    return { reason: `Azure ML is not set up: plugins.azureml.${missing.join(', ')} missing.`, fix: 'Set the workspace, compute cluster and trainer image under plugins.azureml (see docs/backends/azureml.md), then restart.' };
  }
  if (!/^[0-9a-f-]{36}$/i.test(subscription_id!)) return { reason: `The Azure subscription id '${subscription_id}' is not a GUID.`, fix: 'Use the subscription id `az account show --query id` prints.' };
  const path = `/subscriptions/${subscription_id}/resourceGroups/${encodeURIComponent(resource_group!)}/providers/Microsoft.MachineLearningServices/workspaces/${encodeURIComponent(workspace!)}`;
  return { subscription_id: subscription_id!, resource_group: resource_group!, workspace: workspace!, compute: config.compute!, path };
}
