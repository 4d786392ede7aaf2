import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { localBackend } from '../evaluation/inference-backend.js';
import { FinetuneError, isFinetuneError } from '../errors.js';
import type { ChatMessage, InferenceResult } from '../plugins/providers.js';
import { registryOf } from '../registry/index.js';
import type { ModelVersion } from '../registry/types.js';
import type { Services } from '../services.js';
import { ChatCompletionRequestSchema, CompletionRequestSchema, invalidRequest, OpenAiError, type ChatCompletionRequest, type CompletionRequest } from './openai-schemas.js';
import { QueueFullError, RequestQueue } from './request-queue.js';

/** Most bytes of a request body; OpenAI's own limit is larger, but a local model's context is small. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** A stand-in for "no limit": the engine stops at the model's context anyway. */
const UNTIL_CONTEXT_ENDS = 1_000_000;

interface OpenAiRoutesOptions {
  /** Serve only this version (`name@1.0.0`, `name@production` or `mv_…`), as `serve-model` does; default every registered version and alias. */
  only?: string;
}

/** What a request named, resolved to a registered version, and the id it is called by in answers and metrics. */
interface ServedModel {
  id: string;
  version: ModelVersion;
}

/**
 * The OpenAI-compatible API over registered model versions, on the local engine through the same
 * inference provider evaluation uses (the version's adapter on its base, the chat template applied
 * as in training): `GET /v1/models`, `POST /v1/chat/completions` and `POST /v1/completions`, each
 * streaming (server-sent `chat.completion.chunk`s ending with `data: [DONE]`) or not. Requests
 * wait in a bounded queue (serving.max_concurrent at once, serving.max_queued waiting; one more is
 * 429). Host, Origin and the bearer token are checked by the caller, as for /mcp.
 */
export function createOpenAiRoutes(services: Services, options: OpenAiRoutesOptions = {}) {
  const settings = services.config.serving;
  const queue = new RequestQueue(settings.max_concurrent, settings.max_queued);
  const metrics = services.metrics;
  const log = services.logger.child({ component: 'openai-endpoint' });
  const only = options.only === undefined ? undefined : findModel(services, options.only);
  if (options.only !== undefined && !only) {
    throw new FinetuneError('NOT_FOUND', `No registered model version '${options.only}' to serve.`, {
      recovery: 'Name a registered version as name@1.0.0, name@<alias> or mv_…; list_model_versions (or `finetune-mcp list_model_versions`) shows them.',
      details: { field: 'version' },
    });
  }

  const models = (): ServedModel[] => (only ? [only] : listModels(services));
  const pick = (name: string): ServedModel => {
    const found = only ? ([only.id, only.version.version_id, `${only.version.name}@${only.version.version}`].includes(name) ? only : undefined) : findModel(services, name);
    if (!found) throw notServed(name, 'model', only ? [only.id] : undefined);
    return found;
  };

  return {
    queued: () => queue.waiting,
    /** Answers a request under /v1; false when the path is none of its routes. */
    async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
      const route = ROUTES.find((r) => r === path);
      if (!route) return false;
      const started = performance.now();
      // Metrics label: the served model's id; 'none' when the request named no model, 'unknown' when it named one not served.
      let model = 'none';
      const chat = route === '/v1/chat/completions';
      try {
        if (route === '/v1/models') {
          if (req.method !== 'GET') throw methodNotAllowed(req.method, 'GET');
          const data = models().map((m) => ({ id: m.id, object: 'model', created: Math.floor(Date.parse(m.version.created_at) / 1000), owned_by: 'finetune-mcp' }));
          sendJson(res, 200, { object: 'list', data });
          return true;
        }
        if (req.method !== 'POST') throw methodNotAllowed(req.method, 'POST');
        const body = await readJson(req);
        const named = (body as { model?: unknown } | null)?.model;
        if (typeof named === 'string') model = (only ? (only.id === named ? only : undefined) : findModel(services, named))?.id ?? 'unknown';
        const parsed = (chat ? ChatCompletionRequestSchema : CompletionRequestSchema).safeParse(body);
        if (!parsed.success) throw invalidRequest(parsed.error);
        const request = parsed.data as ChatCompletionRequest & CompletionRequest;
        const served = pick(request.model);
        const abort = new AbortController();
        res.on('close', () => {
          if (!res.writableFinished) abort.abort();
        });
        await queue.run(() => answer(services, served, request, chat, res, abort.signal));
        return true;
      } catch (error) {
        const failure = toOpenAiError(error, chat ? 'messages' : 'prompt');
        metrics.serving_errors.inc({ model, code: failure.code ?? failure.type });
        if (failure.status >= 500) log.error({ err: error, model, route }, 'openai endpoint request failed');
        else log.info({ model, route, status: failure.status, code: failure.code }, failure.message);
        sendError(res, failure);
        return true;
      } finally {
        metrics.serving_latency.observe({ model, route }, (performance.now() - started) / 1000);
      }
    },
  };
}

const ROUTES = ['/v1/models', '/v1/chat/completions', '/v1/completions'] as const;

/** Runs one generation and writes it, streamed or whole, in the shape of the route. */
async function answer(services: Services, served: ServedModel, request: ChatCompletionRequest & Partial<CompletionRequest>, chat: boolean, res: ServerResponse, signal: AbortSignal): Promise<void> {
  const backend = await localBackend(services, { version: `${served.version.name}@${served.version.version}` }, 'model');
  const id = `${chat ? 'chatcmpl' : 'cmpl'}-${randomUUID().replaceAll('-', '')}`;
  const created = Math.floor(Date.now() / 1000);
  const object = chat ? 'chat.completion.chunk' : 'text_completion';
  const chunk = (choice: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ id, object, created, model: served.id, choices: [{ index: 0, logprobs: null, ...choice }], ...extra });
  const stream = request.stream === true;
  let sent = '';
  if (stream) {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    if (chat) writeEvent(res, chunk({ delta: { role: 'assistant', content: '' }, finish_reason: null }));
  }
  const emit = (delta: string) => {
    if (!delta) return;
    sent += delta;
    writeEvent(res, chunk(chat ? { delta: { content: delta }, finish_reason: null } : { text: delta, finish_reason: null }));
  };
  const stop = request.stop == null ? undefined : typeof request.stop === 'string' ? [request.stop] : request.stop;
  let result: InferenceResult;
  try {
    result = await backend.inference.generate({
      model: backend.model,
      local_model: backend.local_model,
      ...(chat ? { messages: request.messages.map(toChatMessage) } : { messages: [], prompt: Array.isArray(request.prompt) ? request.prompt[0] : request.prompt }),
      max_tokens: request.max_completion_tokens ?? request.max_tokens ?? UNTIL_CONTEXT_ENDS,
      temperature: request.temperature ?? 0,
      top_p: request.top_p ?? undefined,
      stop,
      seed: request.seed ?? undefined,
      signal,
      on_text: stream ? emit : undefined,
    });
  } catch (error) {
    if (!stream) throw error;
    // Headers are gone: the error travels as an event, which the OpenAI SDKs raise as an APIError.
    const failure = toOpenAiError(error, chat ? 'messages' : 'prompt');
    services.metrics.serving_errors.inc({ model: served.id, code: failure.code ?? failure.type });
    services.logger.error({ err: error, model: served.id }, 'streamed generation failed');
    writeEvent(res, failure.body());
    res.end();
    return;
  }
  const usage = { prompt_tokens: result.usage?.prompt_tokens ?? 0, completion_tokens: result.usage?.completion_tokens ?? 0 };
  services.metrics.serving_tokens.inc({ model: served.id, kind: 'prompt' }, usage.prompt_tokens);
  services.metrics.serving_tokens.inc({ model: served.id, kind: 'completion' }, usage.completion_tokens);
  const finish = result.finish_reason === 'length' ? 'length' : 'stop';
  const totals = { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens };
  if (!stream) {
    const choice = chat ? { message: { role: 'assistant', content: result.text, refusal: null }, finish_reason: finish } : { text: result.text, finish_reason: finish };
    sendJson(res, 200, { id, object: chat ? 'chat.completion' : 'text_completion', created, model: served.id, choices: [{ index: 0, logprobs: null, ...choice }], usage: totals });
    return;
  }
  // A provider that could not stream (or text held back at the end) sends the rest now.
  if (result.text.startsWith(sent)) emit(result.text.slice(sent.length));
  writeEvent(res, chunk(chat ? { delta: {}, finish_reason: finish } : { text: '', finish_reason: finish }));
  if (request.stream_options?.include_usage) writeEvent(res, { id, object, created, model: served.id, choices: [], usage: totals });
  res.write('data: [DONE]\n\n');
  res.end();
}

function toChatMessage(m: ChatCompletionRequest['messages'][number]): ChatMessage {
  return { role: m.role, content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join('') };
}

/** Every registered version as `name@x.y.z`, and each alias as `name@alias`. */
function listModels(services: Services): ServedModel[] {
  const versions = registryOf(services).list();
  return [
    ...versions.map((v) => ({ id: `${v.name}@${v.version}`, version: v })),
    ...versions.flatMap((v) => v.aliases.map((alias) => ({ id: `${v.name}@${alias}`, version: v }))),
  ];
}

/** A model id as a client sends it: `name@1.0.0`, `name@production` or `mv_…`; undefined when nothing is registered under it. */
function findModel(services: Services, id: string): ServedModel | undefined {
  const registry = registryOf(services);
  const at = id.lastIndexOf('@');
  try {
    if (id.startsWith('mv_')) {
      const v = registry.get({ version_id: id });
      return { id: `${v.name}@${v.version}`, version: v };
    }
    if (at <= 0) return undefined;
    const [name, tail] = [id.slice(0, at), id.slice(at + 1)];
    return { id, version: /^\d/.test(tail) ? registry.get({ name, version: tail }) : registry.get({ name, alias: tail }) };
  } catch (error) {
    if (isFinetuneError(error) && error.code === 'NOT_FOUND') return undefined;
    throw error;
  }
}

function notServed(name: string, param: string, served?: string[]): OpenAiError {
  const hint = served ? `This server serves ${served.join(', ')}.` : 'GET /v1/models lists the registered versions (name@1.0.0) and aliases (name@production); register_model adds one.';
  return new OpenAiError(404, `The model '${name}' does not exist or is not served here. ${hint}`, 'invalid_request_error', param, 'model_not_found');
}

function methodNotAllowed(method: string | undefined, allowed: string): OpenAiError {
  return new OpenAiError(405, `${method} is not allowed here; use ${allowed}.`, 'invalid_request_error', null, 'method_not_allowed');
}

/** OpenAI's status and type for a failure: our error codes map onto its classes; anything else is a 500. */
function toOpenAiError(error: unknown, input: 'messages' | 'prompt'): OpenAiError {
  if (error instanceof OpenAiError) return error;
  if (error instanceof QueueFullError) return new OpenAiError(429, error.message, 'rate_limit_error', null, 'rate_limit_exceeded');
  if (isFinetuneError(error)) return fromFinetuneError(error, input);
  return new OpenAiError(500, 'The server had an error while processing your request; its log (stderr) has the details.', 'server_error', null, null);
}

/** The engine's errors name its own fields and tools; the endpoint's client gets OpenAI's words for them. */
function fromFinetuneError(error: FinetuneError, input: 'messages' | 'prompt'): OpenAiError {
  const message = `${error.message.replace(/\.?$/, '.')} ${error.recovery}`;
  if (error.code === 'INVALID_INPUT' && /context holds/.test(error.message)) {
    return new OpenAiError(400, `${error.message.replace(/\.?$/, '.')} Shorten the ${input} (max_tokens counts too).`, 'invalid_request_error', input, 'context_length_exceeded');
  }
  if (error.code === 'INVALID_INPUT') return new OpenAiError(400, `${error.message.replace(/\.?$/, '.')}`, 'invalid_request_error', input, 'invalid_value');
  if (error.code === 'NOT_FOUND') return new OpenAiError(404, message, 'invalid_request_error', 'model', 'model_not_found');
  if (error.code === 'CANCELLED') return new OpenAiError(499, message, 'invalid_request_error', null, 'cancelled');
  return new OpenAiError(500, `[${error.code}] ${message}`, 'server_error', null, error.code.toLowerCase());
}

function sendError(res: ServerResponse, failure: OpenAiError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  if (failure.status === 429) res.setHeader('Retry-After', '1');
  sendJson(res, failure.status, failure.body());
}

/** The 401 of the /v1 routes, in OpenAI's shape (its SDKs raise AuthenticationError from it). */
export function sendOpenAiUnauthorized(res: ServerResponse): void {
  res.setHeader('WWW-Authenticate', 'Bearer');
  sendError(res, new OpenAiError(401, 'Incorrect or missing API key: send Authorization: Bearer <FINETUNE_MCP_TOKEN> (the OpenAI SDKs send their apiKey so).', 'invalid_request_error', null, 'invalid_api_key'));
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(value));
}

function writeEvent(res: ServerResponse, value: unknown): void {
  res.write(`data: ${JSON.stringify(value)}\n\n`);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new OpenAiError(413, `The request body is over ${MAX_BODY_BYTES} bytes.`, 'invalid_request_error', null, 'request_too_large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new OpenAiError(400, 'We could not parse the JSON body of your request: it must be JSON (Content-Type: application/json).', 'invalid_request_error', null, 'invalid_json');
  }
}
