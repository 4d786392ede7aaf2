import { containerTrainerCapabilities, MULTI_GPU_TRAINER, definePlugin, PLUGIN_API_VERSION, RestClient } from '../../src/plugin-sdk/index.js';
import { kubeRayProblem, RayConfigSchema, rayAccess, rayToken, type RayConfig } from './config.js';
import { kubeSource } from './kube.js';

/**
 * LoRA/QLoRA SFT and DPO on your own Ray cluster: the container trainer (trainer/) runs as a Ray
 * job submitted through the dashboard's Jobs REST API (mode "jobs"), or as a KubeRay RayJob custom
 * resource in Kubernetes (mode "kuberay"); progress is read from its event lines.
 */
export const rayPlugin = definePlugin<RayConfig>({
  meta: {
    name: 'ray',
    version: '0.2.0',
    api_version: PLUGIN_API_VERSION,
    description: 'Ray cluster (Jobs API, or a KubeRay RayJob in Kubernetes): LoRA/QLoRA or full SFT or DPO with the container trainer on one or many of your GPUs; the adapter stays on the cluster storage.',
  },
  provides: ['training_backend'],
  capabilities: {
    training: containerTrainerCapabilities({ devices: ['A10G', 'L4', 'L40S', 'A100-40GB', 'A100-80GB', 'H100', 'T4'], ...MULTI_GPU_TRAINER }),
    app: 'trainer/Dockerfile',
  },
  configSchema: RayConfigSchema,
  probe(ctx) {
    if (ctx.config.mode === 'kuberay') {
      const source = kubeSource(ctx.env);
      const problem = kubeRayProblem(ctx.config, ctx.env, source);
      if (problem) return { available: false, ...problem };
      const k = ctx.config.kuberay;
      return { available: true, details: { mode: 'kuberay', credentials: 'in_cluster' in source ? 'service account' : 'kubeconfig', submission_mode: k.submission_mode, cluster: k.cluster_selector ? 'existing (clusterSelector)' : 'created (rayClusterSpec)' } };
    }
    const access = rayAccess(ctx.config, ctx.env);
    if ('reason' in access) return { available: false, ...access };
    return { available: true, details: { mode: 'jobs', address: access.address, token_auth: access.token !== undefined, storage_dir: ctx.config.storage_dir } };
  },
  async create(ctx) {
    const { RayBackend } = await import('./backend.js');
    const dashboard = (address: string, token?: string) =>
      new RestClient({ baseURL: address, headers: token ? { authorization: `Bearer ${token}` } : {}, maxRetries: ctx.config.max_retries, timeoutMs: ctx.config.timeout_ms, provider: 'Ray' });
    if (ctx.config.mode === 'kuberay') {
      const { KubeRayBackend } = await import('./kuberay.js');
      const { rayJobs } = await import('./kube.js');
      // The token, when the cluster wants one, is the same whichever address the dashboard has.
      const found = rayToken(ctx.config, ctx.env);
      const token = typeof found === 'string' ? found : undefined;
      const jobs = await rayJobs(ctx.env, ctx.config.kuberay);
      const common = new RayBackend(dashboard(ctx.config.address ?? ctx.env.RAY_ADDRESS ?? 'http://127.0.0.1:8265', token), ctx.config);
      return { training_backend: new KubeRayBackend(jobs, ctx.config, (address) => dashboard(address, token), common) };
    }
    const access = rayAccess(ctx.config, ctx.env);
    if ('reason' in access) throw new Error(access.reason);
    return { training_backend: new RayBackend(dashboard(access.address, access.token), ctx.config) };
  },
});
