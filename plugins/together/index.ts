import { definePlugin, PLUGIN_API_VERSION, RestClient } from '../../src/plugin-sdk/index.js';
import { TOGETHER_MISSING_KEY, TogetherConfigSchema, togetherCredentials, type TogetherConfig } from './config.js';

/** Together AI's hosted fine-tuning (LoRA or full, SFT or DPO) over its REST API. Disabled without a key. */
export const togetherPlugin = definePlugin<TogetherConfig>({
  meta: {
    name: 'together',
    version: '0.1.0',
    api_version: PLUGIN_API_VERSION,
    description: 'Together AI fine-tuning API: LoRA or full SFT/DPO on open models, served by Together afterwards.',
  },
  provides: ['training_backend', 'inference'],
  capabilities: {
    training: {
      methods: ['sft', 'dpo'],
      approaches: ['lora', 'full'],
      tasks: { sft: ['chat', 'completion'], dpo: ['preference'] },
      resume: false,
      cancel: true,
      devices: ['together-hosted'],
      remote: true,
      inference: true,
      max_concurrent_jobs: 4,
    },
    price_estimate: 'Together POST /fine-tunes/estimate-price',
  },
  configSchema: TogetherConfigSchema,
  probe(ctx) {
    const credentials = togetherCredentials(ctx.config, ctx.env);
    if (!credentials) return { available: false, ...TOGETHER_MISSING_KEY };
    return { available: true, details: { base_url: credentials.baseURL } };
  },
  async create(ctx) {
    const { TogetherBackend } = await import('./backend.js');
    const credentials = togetherCredentials(ctx.config, ctx.env)!;
    const api = new RestClient({
      baseURL: credentials.baseURL,
      headers: { authorization: `Bearer ${credentials.apiKey}` },
      maxRetries: ctx.config.max_retries,
      timeoutMs: ctx.config.timeout_ms,
      provider: 'Together',
    });
    return { training_backend: new TogetherBackend(api, ctx.config, ctx.logger, ctx.env), inference: (await import('./inference.js')).togetherInference(ctx.config, ctx.env) };
  },
});
