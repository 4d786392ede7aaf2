import { definePlugin, PLUGIN_API_VERSION } from '../../src/plugins/types.js';
import { MISSING_KEY, OpenAIConfigSchema, resolveCredentials, type OpenAIConfig } from './config.js';
import { OPENAI_DEPRECATION_NOTICE, OPENAI_FINETUNE_MODEL_NAMES, OPENAI_FINETUNE_SHUTDOWN } from './models.js';

/**
 * OpenAI's hosted fine-tuning (SFT and DPO): the shared fine-tuning backend of plugins/openai-compatible
 * with OpenAI's profile (api.openai.com, its models and prices, its shutdown date). Disabled without a key;
 * carries OpenAI's deprecation notice so server_info and plans show it.
 */
export const openaiPlugin = definePlugin<OpenAIConfig>({
  meta: {
    name: 'openai',
    version: '0.1.0',
    api_version: PLUGIN_API_VERSION,
    description: 'OpenAI fine-tuning API (hosted SFT and DPO on GPT models); the result is served through chat completions.',
  },
  provides: ['training_backend', 'inference'],
  capabilities: {
    training: {
      methods: ['sft', 'dpo'],
      approaches: ['full'],
      tasks: { sft: ['chat', 'completion'], dpo: ['preference'] },
      resume: false,
      cancel: true,
      devices: ['openai-hosted'],
      remote: true,
      inference: true,
      // A conservative default: OpenAI limits active jobs per organization and refuses extras itself.
      max_concurrent_jobs: 6,
    },
    models: OPENAI_FINETUNE_MODEL_NAMES,
    deprecation: { no_new_jobs_after: OPENAI_FINETUNE_SHUTDOWN, notice: OPENAI_DEPRECATION_NOTICE, migrate_with: 'migrate_openai_finetune' },
  },
  configSchema: OpenAIConfigSchema,
  probe(ctx) {
    const credentials = resolveCredentials(ctx.config, ctx.env);
    if (!credentials) return { available: false, ...MISSING_KEY };
    return { available: true, details: { base_url: credentials.baseURL ?? 'https://api.openai.com/v1', deprecation: OPENAI_DEPRECATION_NOTICE } };
  },
  async create(ctx) {
    const { createOpenAIClient } = await import('./config.js');
    const { FineTuningBackend } = await import('../openai-compatible/fine-tuning/backend.js');
    const { openAIProfile } = await import('./models.js');
    const { openAIInference } = await import('./inference.js');
    return {
      training_backend: new FineTuningBackend(createOpenAIClient(ctx.config, ctx.env), openAIProfile(ctx.config), ctx.logger),
      inference: openAIInference(ctx.config, ctx.env),
    };
  },
});
