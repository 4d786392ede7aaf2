import { FinetuneError } from '../../errors.js';
import type { Judge } from '../../plugins/providers.js';
import type { SamplingRequest } from '../../server/tool.js';
import type { Services } from '../../services.js';
import { openAICompatibleJudge } from './openai-judge.js';
import { samplingJudge } from './sampling-judge.js';
import { JudgeSettingsSchema } from './settings.js';

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
  const endpointConfigured = Boolean(settings.base_url || settings.api_key);
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
  return { judge: openAICompatibleJudge(settings, { signal }), used: `endpoint ${settings.model} at ${settings.base_url ?? 'api.openai.com'}` };
}
