import { FinetuneError } from '../../errors.js';
import type { Judge } from '../../plugins/providers.js';
import type { SamplingRequest } from '../../server/tool.js';
import type { Services } from '../../services.js';
import { PROVIDER_REF } from '../model-ref.js';
import { inferenceJudge } from './inference-judge.js';
import { samplingJudge } from './sampling-judge.js';
import { JudgeSettingsSchema, type JudgeSettings } from './settings.js';

/** 'auto': the client's model when it can sample, else the configured endpoint, else no judge. */
export type JudgeChoice = 'auto' | 'none' | 'sampling' | 'endpoint' | `plugin:${string}`;

export interface SelectedJudge {
  judge: Judge;
  used: string;
}

/** Picks the judge for a comparison; undefined when none was asked for or (for auto) none is available. */
export async function selectJudge(
  services: Services,
  choice: JudgeChoice,
  sample: ((request: SamplingRequest) => Promise<string>) | undefined,
  signal?: AbortSignal,
): Promise<SelectedJudge | undefined> {
  const settings = JudgeSettingsSchema.parse((services.config as { judge?: unknown }).judge ?? {});
  const endpointConfigured = Boolean(settings.base_url || settings.api_key || judgeModelReference(services, settings));
  if (choice === 'none') return undefined;
  if (choice.startsWith('plugin:')) {
    const name = choice.slice('plugin:'.length);
    return { judge: await services.plugins.get('judge', name), used: `plugin ${name}` };
  }
  if (sample && (choice === 'auto' || choice === 'sampling')) return { judge: samplingJudge(sample, settings.max_tokens), used: 'client sampling' };
  if (choice === 'sampling') {
    throw new FinetuneError('CAPABILITY_UNSUPPORTED', 'judge "sampling" was asked for, but this client does not support MCP sampling.', {
      recovery: 'Use judge "auto" or "endpoint" with judge.base_url set in the config.',
      details: { field: 'judge' },
    });
  }
  if (choice === 'auto' && !endpointConfigured) return undefined;
  return endpointJudge(services, settings, signal);
}

/** OpenAI's API when judge.api_key is set without judge.base_url (as the openai SDK defaulted). */
const DEFAULT_JUDGE_URL = 'https://api.openai.com/v1';

/**
 * The configured LLM judge, always on an inference provider: judge.model as `<plugin>:<model>` (and no
 * base_url) runs on that plugin with its own credentials; judge.base_url (or api_key) is an endpoint
 * given to the openai-compatible plugin with the judge's settings.
 */
async function endpointJudge(services: Services, settings: JudgeSettings, signal?: AbortSignal): Promise<SelectedJudge> {
  const options = { max_tokens: settings.max_tokens, signal };
  const reference = judgeModelReference(services, settings);
  if (reference) {
    const inference = await services.plugins.get('inference', reference.plugin);
    return { judge: inferenceJudge(inference, reference.model, options), used: `model ${settings.model}` };
  }
  if (!settings.api_key && !settings.base_url) {
    throw new FinetuneError('CAPABILITY_UNSUPPORTED', 'No judge is available: the client does not support sampling and no judge endpoint is configured.', {
      recovery: 'Use a client with MCP sampling, or set judge.model to a model reference such as "together:<model>", or judge.base_url and judge.model (and judge.api_key or FINETUNE_MCP_JUDGE_API_KEY) in the config.',
      details: { field: 'judge' },
    });
  }
  const endpoint = {
    base_url: settings.base_url ?? DEFAULT_JUDGE_URL,
    ...(settings.api_key ? { api_key: settings.api_key } : {}),
    api_key_env: 'FINETUNE_MCP_JUDGE_API_KEY',
    max_retries: settings.max_retries,
    timeout_ms: Math.round(settings.timeout_s * 1000),
  };
  const inference = await services.plugins.createWith('inference', 'openai-compatible', endpoint, 'judge');
  return { judge: inferenceJudge(inference, settings.model, options), used: `endpoint ${settings.model} at ${settings.base_url ?? 'api.openai.com'}` };
}

/** judge.model as `<plugin>:<model>` on an inference plugin, when no endpoint of its own is set. */
function judgeModelReference(services: Services, settings: JudgeSettings): { plugin: string; model: string } | null {
  if (settings.base_url || settings.api_key) return null;
  const match = PROVIDER_REF.exec(settings.model);
  return match && services.plugins.status(match[1])?.provides.includes('inference') ? { plugin: match[1], model: match[2] } : null;
}
