import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from '../../src/plugin-sdk/index.js';

const Quantity = z.union([z.string().regex(/^[0-9.]+[a-zA-Z]*$/, 'a Kubernetes quantity such as "8", "500m" or "32Gi"'), z.number().positive()]);

/** `plugins.ray.kuberay`: the RayJob custom resource's settings (KubeRay's ray.io/v1 RayJob). */
const KubeRayConfigSchema = z.object({
  /** Namespace of the RayJob; default the kubeconfig context's namespace, else "default". */
  namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a Kubernetes namespace name').optional(),
  /** kubeconfig context to use; default its current-context. */
  context: z.string().min(1).optional(),
  /**
   * How KubeRay submits the job. InteractiveMode (default): KubeRay brings the cluster up and waits;
   * this server then uploads the job's files and submits through the cluster's dashboard, so it must
   * reach status.dashboardURL. K8sJobMode / HTTPMode: KubeRay submits by itself, so the files must be
   * on the cluster first: only with cluster_selector, uploaded through plugins.ray.address.
   */
  submission_mode: z.enum(['InteractiveMode', 'K8sJobMode', 'HTTPMode']).default('InteractiveMode'),
  /** Run on an existing RayCluster with these labels (spec.clusterSelector) instead of creating one. */
  cluster_selector: z.record(z.string(), z.string()).optional(),
  /** The Ray image for a created cluster (rayClusterSpec): the trainer image built from trainer/Dockerfile. */
  image: z.string().min(1).optional(),
  ray_version: z.string().min(1).optional(),
  head: z.object({ cpu: Quantity.default('2'), memory: Quantity.default('8Gi') }).prefault({}),
  workers: z
    .object({
      group_name: z.string().regex(/^[a-z0-9-]+$/).default('gpu'),
      replicas: z.number().int().min(0).default(1),
      gpus: z.number().int().min(0).default(1),
      cpu: Quantity.default('8'),
      memory: Quantity.default('32Gi'),
      /** The resource name GPUs are requested under. */
      gpu_resource: z.string().default('nvidia.com/gpu'),
    })
    .prefault({}),
  /** Delete the created cluster when the job ends (spec.shutdownAfterJobFinishes). */
  shutdown_after_job_finishes: z.boolean().default(true),
  ttl_seconds_after_finished: z.number().int().min(0).default(300),
  /** Longest the RayJob may run before KubeRay stops it (spec.activeDeadlineSeconds). */
  active_deadline_seconds: z.number().int().positive().optional(),
});

export type KubeRayConfig = z.infer<typeof KubeRayConfigSchema>;

export const RayConfigSchema = z.object({
  /** jobs: submit to a running cluster's Jobs API; kuberay: create a KubeRay RayJob custom resource in Kubernetes. */
  mode: z.enum(['jobs', 'kuberay']).default('jobs'),
  kuberay: KubeRayConfigSchema.prefault({}),
  /** The Ray dashboard's HTTP address (the Jobs API), e.g. http://head:8265; default RAY_ADDRESS. */
  address: z.string().optional(),
  /** Ray's token auth (Ray ≥ 2.52, RAY_AUTH_MODE=token); default RAY_AUTH_TOKEN, then the file RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token. */
  auth_token: z.string().min(1).optional(),
  /** How the cluster runs the trainer (trainer/trainer.py); the default is where trainer/Dockerfile puts it. */
  trainer_command: z.string().min(1).default('python /opt/finetune-mcp/trainer/trainer.py'),
  /** How the cluster runs the multi-node driver (trainer/ray_train.py: Ray Train, one worker per GPU) when backend_options.num_nodes > 1. */
  ray_train_command: z.string().min(1).default('python /opt/finetune-mcp/trainer/ray_train.py'),
  /** A container image holding the trainer (built from trainer/Dockerfile), sent as runtime_env.image_uri; omit when the cluster's own image has it. */
  image_uri: z.string().min(1).optional(),
  /** A folder every node sees (shared storage) for checkpoints and the adapter: `<storage_dir>/<job id>`. */
  storage_dir: z.string().min(1).default('/mnt/cluster_storage/finetune-mcp'),
  /** Environment for the trainer on the cluster (e.g. HF_HOME); sent in runtime_env.env_vars, so no secrets here. */
  env_vars: z.record(z.string(), z.string()).default({}),
  /** Your own cost of one GPU-hour on this cluster, if you want plans priced; a self-hosted cluster has no list price. */
  usd_per_gpu_hour: z.number().nonnegative().optional(),
  max_retries: z.number().int().min(0).max(10).default(4),
  timeout_ms: z.number().int().positive().default(60_000),
  poll_interval_ms: z.number().int().positive().default(10_000),
  max_poll_interval_ms: z.number().int().positive().default(60_000),
});

export type RayConfig = z.infer<typeof RayConfigSchema>;

interface RayAccess {
  address: string;
  /** Absent when the cluster runs without token auth (Ray's default before 2.61). */
  token?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The token the way Ray's own clients look for it: RAY_AUTH_TOKEN, then RAY_AUTH_TOKEN_PATH, then ~/.ray/auth_token. */
export function rayToken(config: RayConfig, env: Env): string | { reason: string; fix: string } | undefined {
  if (config.auth_token) return config.auth_token;
  if (env.RAY_AUTH_TOKEN?.trim()) return env.RAY_AUTH_TOKEN.trim();
  const path = env.RAY_AUTH_TOKEN_PATH || join(env.HOME || homedir(), '.ray', 'auth_token');
  try {
    const token = readFileSync(path, 'utf8').trim();
    if (token) return token;
  } catch {
    // no file: fine unless the path was named
  }
  if (env.RAY_AUTH_TOKEN_PATH) {
    return { reason: `RAY_AUTH_TOKEN_PATH names ${env.RAY_AUTH_TOKEN_PATH}, which is missing, unreadable or empty.`, fix: 'Point RAY_AUTH_TOKEN_PATH at the file `ray get-auth-token` wrote, or set RAY_AUTH_TOKEN, then restart.' };
  }
  return undefined;
}

/** The Jobs API address and token, or why the plugin cannot work. */
export function rayAccess(config: RayConfig, env: Env): RayAccess | { reason: string; fix: string } {
  const address = config.address ?? env.RAY_ADDRESS;
  if (!address) {
    return {
      reason: 'No Ray cluster: neither plugins.ray.address nor RAY_ADDRESS is set.',
      fix: 'Set RAY_ADDRESS to the Ray dashboard address, e.g. http://<head-node>:8265 (see docs/backends/ray.md), then restart.',
    };
  }
  if (!/^https?:\/\//.test(address)) {
    return {
      reason: `RAY_ADDRESS / plugins.ray.address is '${address}': the Jobs API needs the dashboard's http(s) address, not a ray:// or GCS address.`,
      fix: 'Use the dashboard address, e.g. http://<head-node>:8265 (the one `ray job submit --address` takes).',
    };
  }
  const token = rayToken(config, env);
  if (typeof token === 'object') return token;
  return { address, token };
}

/** Why the kuberay mode cannot work with this config and environment, or undefined when it can. */
export function kubeRayProblem(config: RayConfig, env: Env, credentials: { reason: string; fix: string } | object): { reason: string; fix: string } | undefined {
  if ('reason' in credentials) return credentials as { reason: string; fix: string };
  const k = config.kuberay;
  if (!k.cluster_selector && !k.image) {
    return {
      reason: 'plugins.ray.mode is "kuberay", but neither plugins.ray.kuberay.image (for a cluster KubeRay creates) nor plugins.ray.kuberay.cluster_selector (an existing RayCluster) is set.',
      fix: 'Set plugins.ray.kuberay.image to the trainer image built from trainer/Dockerfile, or cluster_selector to the labels of a running RayCluster; see docs/backends/ray.md, KubeRay.',
    };
  }
  if (k.submission_mode !== 'InteractiveMode' && !(k.cluster_selector && (config.address ?? env.RAY_ADDRESS))) {
    return {
      reason: `plugins.ray.kuberay.submission_mode is ${k.submission_mode}: KubeRay then submits by itself, so the job's files must be on the cluster first, which needs an existing cluster (cluster_selector) and its dashboard address (plugins.ray.address or RAY_ADDRESS).`,
      fix: 'Use submission_mode InteractiveMode (the default), or set cluster_selector and RAY_ADDRESS to that cluster.',
    };
  }
  return undefined;
}
