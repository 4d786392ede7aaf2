import { FinetuneError } from '../errors.js';
import { localBackend } from '../evaluation/inference-backend.js';
import { LOCAL_INFERENCE } from '../evaluation/runners/open.js';
import { endpointInference, pluginModelReference, PROVIDER_REF } from '../plugins/endpoint-inference.js';
import type { InferenceProvider, InferenceRequest, LocalModelFiles } from '../plugins/providers.js';
import type { Services } from '../services.js';
import { parseLabelled, parseStructured, readField, type GeneratedItem } from './parse-answer.js';
import { plainPrompt, PROMPT_TEMPLATES, responseFormat, structuredPrompt, type PromptInput } from './prompts.js';
import { GeneratorSettingsSchema, type GeneratorSettings } from './settings.js';
import type { GenerationKind } from './types.js';

/** The model that writes candidate rows, on its inference provider. */
interface SelectedGenerator {
  inference: InferenceProvider;
  /** The model as the provider takes it (without a `<plugin>:` prefix). */
  model: string;
  /** Recorded in every row's provenance, e.g. {provider: "openai-compatible", model: "gpt-4o-mini"}. */
  record: { provider: string; model: string };
  /** Whether requests carry a JSON schema (response_format); the local engine gets plain-text prompts instead. */
  structured: boolean;
  /** A model on this machine: its folders, and its tokenizer and context to fit plain prompts. */
  local?: { files: LocalModelFiles; context_length: number; count(text: string): number };
  settings: GeneratorSettings;
  /** For messages, e.g. "endpoint gpt-4o-mini at http://127.0.0.1:8000/v1". */
  used: string;
}

/** A local model reference: `local:<model>`, a base model id or a training job (its adapter on its base). */
const LOCAL_REF = /^(local:.+|mdl_[0-9a-z]+|job_[0-9a-z]+)$/;

/**
 * Picks the generator as select.ts picks the judge: `reference` (the call's `generator` argument) or
 * generator.model; a local model runs on the local engine, `<plugin>:<model>` on that inference
 * plugin, anything else is a model name at the configured endpoint (generator.base_url / api_key).
 */
export async function selectGenerator(services: Services, reference?: string): Promise<SelectedGenerator> {
  const settings = GeneratorSettingsSchema.parse((services.config as { generator?: unknown }).generator ?? {});
  const ref = reference ?? settings.model;
  const field = reference ? 'generator' : 'config generator.model';
  if (LOCAL_REF.test(ref)) {
    const local = await localBackend(services, ref.startsWith('job_') ? { job_id: ref } : { model_id: ref }, field);
    const counter = await services.datasets.counter(local.resolved.base_model_id);
    return {
      inference: local.inference,
      model: local.model,
      record: { provider: LOCAL_INFERENCE, model: ref },
      structured: false,
      local: { files: local.local_model!, context_length: services.models.get(local.resolved.base_model_id).context_length, count: (text) => counter.count(text) },
      settings,
      used: local.used,
    };
  }
  // A reference naming an inference plugin goes to that plugin, even when an endpoint is configured.
  const plugin = pluginModelReference(services.plugins, {}, ref);
  if (plugin) {
    const inference = await services.plugins.get('inference', plugin.plugin);
    return { inference, model: plugin.model, record: { provider: plugin.plugin, model: plugin.model }, structured: true, settings, used: `model ${ref}` };
  }
  if (!settings.base_url && !settings.api_key) {
    const match = PROVIDER_REF.exec(ref);
    throw new FinetuneError(
      'CAPABILITY_UNSUPPORTED',
      match ? `generator '${ref}' names no inference plugin ('${match[1]}'), and no generator endpoint is configured.` : `No generator is configured for '${ref}': generator.base_url is not set.`,
      {
        recovery:
          'Set generator.base_url and generator.model (and generator.api_key or FINETUNE_MCP_GENERATOR_API_KEY) in the config for an OpenAI-compatible endpoint, ' +
          'or pass generator as "<plugin>:<model>" (e.g. "together:…") or a local model ("local:mdl_…").',
        details: { field },
      },
    );
  }
  const { inference, url } = await endpointInference(services.plugins, settings, { api_key_env: 'FINETUNE_MCP_GENERATOR_API_KEY', where: 'generator' });
  return { inference, model: ref, record: { provider: 'openai-compatible', model: ref }, structured: true, settings, used: `endpoint ${ref} at ${url}` };
}

/** One request's worth of rows: `n` rows about one unit. */
export interface GenerationRequest {
  ref: string;
  n: number;
  input: Omit<PromptInput, 'n'>;
}

/** A request that ended short: which unit, why (the last attempt's problem), how many rows are missing. */
export interface GenerationFailure {
  ref: string;
  reason: string;
  missing: number;
  attempts: number;
}

export interface GenerationTotals {
  requests: number;
  /** Answers asked for, retries of malformed ones included (the HTTP client's own retries not; a plain-text row is one attempt of one call per field). */
  attempts: number;
  prompt_tokens: number;
  completion_tokens: number;
  /** Summed over answers that reported a cost; null when none did. */
  cost_usd: number | null;
}

/** Provider errors a request survives (recorded as its failure); any other error stops the whole call. */
const REQUEST_FAILURES = new Set(['UPSTREAM_ERROR', 'RATE_LIMITED', 'TIMEOUT']);

/**
 * Runs the requests, `generator.concurrency` at a time. An answer that is not JSON, does not match the
 * kind's schema or holds fewer rows than asked is asked again (for the rows still missing) up to
 * `generator.max_retries` times; what is still missing then is a failure with the last reason. Items
 * come back per request, in request order, whatever order the answers arrived in.
 */
export async function runRequests(
  generator: SelectedGenerator,
  kind: GenerationKind,
  requests: GenerationRequest[],
  options: { seed: number; signal?: AbortSignal; onRequest?: (done: number, total: number) => void },
): Promise<{ items: GeneratedItem[][]; failures: GenerationFailure[]; totals: GenerationTotals }> {
  const { settings } = generator;
  const items: GeneratedItem[][] = requests.map(() => []);
  const failures: Array<GenerationFailure | undefined> = requests.map(() => undefined);
  const totals: GenerationTotals = { requests: requests.length, attempts: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: null };
  let next = 0;
  let done = 0;
  let stopped: unknown;
  const call = async (request: InferenceRequest) => {
    const out = await generator.inference.generate(request);
    totals.prompt_tokens += out.usage?.prompt_tokens ?? 0;
    totals.completion_tokens += out.usage?.completion_tokens ?? 0;
    if (out.cost_usd !== undefined) totals.cost_usd = (totals.cost_usd ?? 0) + out.cost_usd;
    return out.text;
  };
  const one = async (index: number) => {
    const request = requests[index];
    let missing = request.n;
    let attempts = 0;
    let reason = '';
    while (missing > 0 && attempts <= settings.max_retries && stopped === undefined) {
      cancelled(options.signal);
      attempts++;
      totals.attempts++;
      let text: string;
      try {
        const seed = (options.seed + index * 131 + attempts) >>> 0;
        const input = { ...request.input, n: missing };
        text = generator.structured ? await call(structuredRequest(generator, kind, input, seed, options.signal)) : await plainAnswer(generator, kind, input, seed, call, options.signal);
      } catch (error) {
        cancelled(options.signal);
        if (!(error instanceof FinetuneError) || !REQUEST_FAILURES.has(error.code)) throw error;
        reason = error.message; // the HTTP client already retried it
        break;
      }
      const parsed = generator.structured ? parseStructured(kind, text) : parseLabelled(kind, text);
      if ('problem' in parsed) {
        reason = parsed.problem;
        continue;
      }
      const taken = parsed.items.slice(0, missing);
      items[index].push(...taken);
      missing -= taken.length;
      if (missing) reason = `the answer held ${taken.length} of the ${taken.length + missing} rows asked`;
    }
    if (missing > 0) failures[index] = { ref: request.ref, reason, missing, attempts };
  };
  const worker = async () => {
    while (stopped === undefined && next < requests.length) {
      const index = next++;
      try {
        await one(index);
      } catch (error) {
        stopped ??= error;
        return;
      }
      options.onRequest?.(++done, requests.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(settings.concurrency, Math.max(requests.length, 1)) }, worker));
  if (stopped !== undefined) throw stopped;
  return { items, failures: failures.filter((f): f is GenerationFailure => f !== undefined), totals };
}

/** Stops generation when the client cancelled the call (nothing has been stored yet). */
export function cancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new FinetuneError('CANCELLED', 'Generation was cancelled by the client; no review queue was written.', { recovery: 'Call generate_dataset again (with a smaller count if it took too long).' });
  }
}

function structuredRequest(generator: SelectedGenerator, kind: GenerationKind, input: PromptInput, seed: number, signal?: AbortSignal): InferenceRequest {
  const { settings } = generator;
  return { model: generator.model, temperature: settings.temperature, seed, signal, messages: structuredPrompt(kind, input), max_tokens: settings.max_tokens, response_format: responseFormat(kind) };
}

/**
 * One row from a model that cannot be held to a schema (the local engine): one request per field,
 * each prompt ending with the field's label after the fields already written, so even a small model
 * writes every label. Returns the labelled text for parseLabelled; it stops at the first empty field.
 */
async function plainAnswer(generator: SelectedGenerator, kind: GenerationKind, input: PromptInput, seed: number, call: (request: InferenceRequest) => Promise<string>, signal?: AbortSignal): Promise<string> {
  const { settings } = generator;
  const local = generator.local!;
  // Half the context at most for the answer; the prompt gets the rest, its passage cut at a word when too long.
  const maxTokens = Math.max(1, Math.min(settings.max_tokens, Math.floor(local.context_length / 2)));
  const filled: Array<{ label: string; value: string }> = [];
  for (const field of PROMPT_TEMPLATES[kind].fields) {
    const prompt = fitPlainPrompt(kind, input, filled, local.context_length - maxTokens, local.count);
    const text = await call({ model: generator.model, temperature: settings.temperature, seed, signal, messages: [{ role: 'user', content: prompt }], prompt, max_tokens: maxTokens, local_model: local.files });
    const value = readField(kind, field, `${field.label}: ${text}`) ?? '';
    filled.push({ label: field.label, value });
    if (!value) break;
  }
  return filled.map((f) => `${f.label}: ${f.value}`).join('\n');
}

function fitPlainPrompt(kind: GenerationKind, input: PromptInput, filled: Array<{ label: string; value: string }>, budget: number, count: (text: string) => number): string {
  const prompt = plainPrompt(kind, input, filled);
  const subject = input.subject;
  if (count(prompt) <= budget || subject.type !== 'passage') return prompt;
  const text = subject.text;
  const withText = (cut: string) => plainPrompt(kind, { ...input, subject: { ...subject, text: cut } }, filled);
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (count(withText(text.slice(0, mid))) <= budget) lo = mid;
    else hi = mid - 1;
  }
  return withText(text.slice(0, lo).replace(/\s+\S*$/, ''));
}
