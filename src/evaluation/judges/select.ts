import { FinetuneError } from '../../errors.js';
import { endpointInference, pluginModelReference, PROVIDER_REF } from '../../plugins/endpoint-inference.js';
import type { Judge } from '../../plugins/providers.js';
import type { SamplingRequest } from '../../server/tool.js';
import type { Services } from '../../services.js';
import { localBackend, type InferenceBackend } from '../inference-backend.js';
import { providerReference } from '../model-ref.js';
import { inferenceJudge } from './inference-judge.js';
import { probabilityJudge, probabilityOutputScorer } from './probability-judge.js';
import { inferenceOutputScorer, samplingOutputScorer, type OutputScorer } from './output-scorer.js';
import { samplingJudge } from './sampling-judge.js';
import { JudgeSettingsSchema, type JudgeSettings } from './settings.js';

/** 'auto': the client's model when it can sample, else the configured endpoint, else no judge. */
export type JudgeChoice = 'auto' | 'none' | 'sampling' | 'endpoint' | `plugin:${string}`;

interface SelectedJudge {
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
  const endpointConfigured = hasJudge(services, settings);
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

async function endpointJudge(services: Services, settings: JudgeSettings, signal?: AbortSignal): Promise<SelectedJudge> {
  const backend = await endpointBackend(services, settings);
  return { judge: inferenceJudge(backend.inference, backend.model, { max_tokens: settings.max_tokens, signal }), used: backend.used };
}

/**
 * The configured LLM judge, always on an inference provider: judge.model as `<plugin>:<model>` (and no
 * base_url) runs on that plugin with its own credentials; judge.base_url (or api_key) is an endpoint
 * given to the openai-compatible plugin with the judge's settings.
 */
async function endpointBackend(services: Services, settings: JudgeSettings): Promise<InferenceBackend> {
  const reference = pluginModelReference(services.plugins, settings, settings.model);
  if (reference) {
    const inference = await services.plugins.get('inference', reference.plugin);
    return { inference, model: reference.model, used: `model ${settings.model}` };
  }
  if (!settings.api_key && !settings.base_url) {
    throw new FinetuneError('CAPABILITY_UNSUPPORTED', 'No judge is available: the client does not support sampling and no judge endpoint is configured.', {
      recovery: 'Use a client with MCP sampling, or set judge.model to a model reference such as "together:<model>", or judge.base_url and judge.model (and judge.api_key or FINETUNE_MCP_JUDGE_API_KEY) in the config.',
      details: { field: 'judge' },
    });
  }
  const { inference, url } = await endpointInference(services.plugins, settings, { api_key_env: 'FINETUNE_MCP_JUDGE_API_KEY', where: 'judge' });
  return { inference, model: settings.model, used: `endpoint ${settings.model} at ${url}` };
}

/** Whether config `judge` names a judge (an endpoint, a key, or a model reference on an inference plugin). */
export function judgeConfigured(services: Services): boolean {
  return hasJudge(services, JudgeSettingsSchema.parse((services.config as { judge?: unknown }).judge ?? {}));
}

function hasJudge(services: Services, settings: JudgeSettings): boolean {
  return Boolean(settings.base_url || settings.api_key || pluginModelReference(services.plugins, settings, settings.model));
}

export interface SelectedOutputScorer {
  scorer: OutputScorer;
  /** The price per million tokens when the judge is the configured one and its price is set; else why there is none. */
  price: { usd_per_1m_input: number; usd_per_1m_output: number } | { missing: string };
}

/**
 * Picks the single-output judge of judge_outputs. `auto` prefers the configured judge over client
 * sampling (the reverse of compare_models): only a provider gives structured output and token counts.
 * A model reference (`together:<model>`, `local:mdl_…`) judges on that inference provider.
 */
export async function selectOutputScorer(services: Services, choice: string, sample: ((request: SamplingRequest) => Promise<string>) | undefined): Promise<SelectedOutputScorer> {
  const settings = JudgeSettingsSchema.parse((services.config as { judge?: unknown }).judge ?? {});
  const options = { max_tokens: settings.max_tokens, max_retries: settings.max_retries };
  const configured = hasJudge(services, settings);
  if (choice === 'sampling' || (choice === 'auto' && !configured && sample)) {
    if (!sample) {
      throw new FinetuneError('CAPABILITY_UNSUPPORTED', 'judge "sampling" was asked for, but this client does not support MCP sampling.', {
        recovery: 'Use judge "auto" or "endpoint" with judge.base_url set in the config, or a model reference such as "together:<model>".',
        details: { field: 'judge' },
      });
    }
    return { scorer: samplingOutputScorer(sample, options), price: { missing: "client sampling: the client's model, its price and its tokens are unknown here" } };
  }
  let backend: InferenceBackend;
  if (choice === 'auto' || choice === 'endpoint') backend = await endpointBackend(services, settings);
  else if (choice.startsWith('plugin:')) {
    throw new FinetuneError('CAPABILITY_UNSUPPORTED', `judge '${choice}': judge plugins compare two answers (compare_models); they cannot score one output.`, {
      recovery: 'Pass a model reference "<plugin>:<model>" (e.g. "together:meta-llama/Llama-3.3-70B-Instruct-Turbo"), "endpoint" or "sampling".',
      details: { field: 'judge' },
    });
  } else backend = await referenceBackend(services, choice);
  // A model on this machine cannot be held to JSON; its token probabilities judge instead (P(yes)).
  const scorer = backend.local_model ? probabilityOutputScorer(backend) : inferenceOutputScorer(backend.inference, backend.model, { ...options, used: backend.used, local_model: backend.local_model });
  const isConfigured = choice === 'auto' || choice === 'endpoint' || choice === settings.model;
  const { usd_per_1m_input_tokens: input, usd_per_1m_output_tokens: output } = settings;
  if (!isConfigured) return { scorer, price: { missing: `no price is known for ${choice} (judge.usd_per_1m_* price the configured judge.model only)` } };
  if (input === undefined || output === undefined) return { scorer, price: { missing: 'judge.usd_per_1m_input_tokens and judge.usd_per_1m_output_tokens are not both set in the config' } };
  return { scorer, price: { usd_per_1m_input: input, usd_per_1m_output: output } };
}

/** A judge named by model reference: a model served by an inference plugin, or a model on this machine. */
async function referenceBackend(services: Services, reference: string): Promise<InferenceBackend> {
  const provider = providerReference(services, reference, 'judge');
  if (provider) return { inference: await services.plugins.get('inference', provider.plugin), model: provider.model, used: `model ${reference}` };
  if (!PROVIDER_REF.test(reference) && !/^mdl_/.test(reference)) {
    throw new FinetuneError('INVALID_INPUT', `judge '${reference}' is not "auto", "endpoint", "sampling" or a model reference "<plugin>:<model>".`, {
      recovery: 'Pass "auto" (the configured judge, else client sampling), "endpoint", "sampling", or e.g. "together:<model>" or "local:mdl_…".',
      details: { field: 'judge' },
    });
  }
  return localBackend(services, { model_id: reference }, 'judge');
}

/**
 * The pairwise judge an improvement policy measures a win-rate with, from the policy's own judge
 * choice (as judge_outputs takes it); a cycle has no client to sample, so without a configured
 * judge or a model reference there is none, and the reason says why.
 */
export async function policyPairwiseJudge(services: Services, choice: string, signal?: AbortSignal): Promise<SelectedJudge | { missing: string }> {
  const settings = JudgeSettingsSchema.parse((services.config as { judge?: unknown }).judge ?? {});
  if (choice === 'sampling') return { missing: 'the policy judges by client sampling, and a cycle has no client to ask' };
  if (choice === 'auto' && !hasJudge(services, settings)) return { missing: 'no judge is configured (judge.base_url or judge.model) and a cycle has no client to sample' };
  if (choice === 'auto' || choice === 'endpoint') return endpointJudge(services, settings, signal);
  const backend = await referenceBackend(services, choice);
  if (backend.local_model) return { judge: probabilityJudge(backend, signal), used: `${backend.used} (P(yes) judge)` };
  return { judge: inferenceJudge(backend.inference, backend.model, { max_tokens: settings.max_tokens, signal }), used: backend.used };
}
