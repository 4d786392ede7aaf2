import { definePlugin, PLUGIN_API_VERSION } from '../../src/plugins/types.js';
import { containerTrainerCapabilities } from '../../src/plugin-sdk/container-trainer.js';
import { ModalConfigSchema, modalAccess, type ModalConfig } from './config.js';
import { MODAL_USD_PER_GPU_HOUR } from './prices.js';

/**
 * LoRA/QLoRA SFT and DPO on Modal GPUs, through the app in plugins/modal/app (deployed by the
 * user) and its proxy-auth HTTP endpoints. The adapter comes back into the job folder in PEFT form.
 */
export const modalPlugin = definePlugin<ModalConfig>({
  meta: {
    name: 'modal',
    version: '0.1.0',
    api_version: PLUGIN_API_VERSION,
    description: 'Modal GPUs: LoRA/QLoRA SFT or DPO with PEFT + TRL in your Modal workspace; the PEFT adapter is downloaded into the job.',
  },
  provides: ['training_backend'],
  capabilities: {
    training: containerTrainerCapabilities({ devices: Object.keys(MODAL_USD_PER_GPU_HOUR), max_concurrent_jobs: 4 }),
    app: 'plugins/modal/app/modal_app.py',
  },
  configSchema: ModalConfigSchema,
  probe(ctx) {
    const access = modalAccess(ctx.config, ctx.env);
    if ('reason' in access) return { available: false, ...access };
    return { available: true, details: { endpoint: access.endpoint, gpu: ctx.config.gpu } };
  },
  async create(ctx) {
    const { RestClient } = await import('../../src/plugin-sdk/http.js');
    const { ModalBackend } = await import('./backend.js');
    const access = modalAccess(ctx.config, ctx.env);
    if ('reason' in access) throw new Error(access.reason);
    const api = new RestClient({
      baseURL: access.endpoint,
      headers: { 'Modal-Key': access.tokenId, 'Modal-Secret': access.tokenSecret },
      maxRetries: ctx.config.max_retries,
      timeoutMs: ctx.config.timeout_ms,
      provider: 'Modal',
    });
    return { training_backend: new ModalBackend(api, ctx.config) };
  },
});
