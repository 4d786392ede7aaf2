import { definePlugin, PLUGIN_API_VERSION, RestClient } from '../../src/plugin-sdk/index.js';
import { RayConfigSchema, rayAccess, type RayConfig } from './config.js';

/**
 * LoRA/QLoRA SFT and DPO on your own Ray cluster: the container trainer (trainer/) runs as a Ray
 * job submitted through the dashboard's Jobs REST API; progress is read from its event lines.
 */
export const rayPlugin = definePlugin<RayConfig>({
  meta: {
    name: 'ray',
    version: '0.1.0',
    api_version: PLUGIN_API_VERSION,
    description: 'Ray cluster (Jobs API): LoRA/QLoRA SFT or DPO with the container trainer on your GPUs; the adapter stays on the cluster storage.',
  },
  provides: ['training_backend'],
  capabilities: {
    training: {
      methods: ['sft', 'dpo'],
      approaches: ['lora', 'qlora'],
      tasks: { sft: ['chat', 'completion', 'text'], dpo: ['preference'] },
      // The trainer resumes from its last checkpoint in the job folder on the cluster's shared storage.
      resume: false,
      cancel: true,
      // Ray's accelerator types (backend_options.gpu_type picks one).
      devices: ['A10G', 'L4', 'L40S', 'A100-40GB', 'A100-80GB', 'H100', 'T4'],
      remote: true,
      inference: false,
      max_concurrent_jobs: 8,
    },
    app: 'trainer/Dockerfile',
  },
  configSchema: RayConfigSchema,
  probe(ctx) {
    const access = rayAccess(ctx.config, ctx.env);
    if ('reason' in access) return { available: false, ...access };
    return { available: true, details: { address: access.address, token_auth: access.token !== undefined, storage_dir: ctx.config.storage_dir } };
  },
  async create(ctx) {
    const { RayBackend } = await import('./backend.js');
    const access = rayAccess(ctx.config, ctx.env);
    if ('reason' in access) throw new Error(access.reason);
    const api = new RestClient({
      baseURL: access.address,
      headers: access.token ? { authorization: `Bearer ${access.token}` } : {},
      maxRetries: ctx.config.max_retries,
      timeoutMs: ctx.config.timeout_ms,
      provider: 'Ray',
    });
    return { training_backend: new RayBackend(api, ctx.config) };
  },
});
