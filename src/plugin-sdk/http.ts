import { FinetuneError } from '../errors.js';
import { upstreamError, type UpstreamContext } from './upstream-errors.js';

export interface RestClientOptions {
  baseURL: string;
  headers: Record<string, string>;
  /** Headers computed before every attempt (a bearer token from a credential that refreshes it, e.g. @azure/identity's). */
  authorize?: () => Promise<Record<string, string>>;
  maxRetries: number;
  timeoutMs: number;
  /** Provider name for messages, e.g. "Together". */
  provider: string;
  fetch?: typeof fetch;
  /** Stops every request of this client when it aborts (the plugin shutting down). */
  signal?: AbortSignal;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  json?: unknown;
  form?: FormData;
  /** Raw bytes (an upload such as a zip package), sent as application/octet-stream. */
  bytes?: Uint8Array;
  /** Headers of this request only (e.g. Range). */
  headers?: Record<string, string>;
  /** What the call does, for messages: "creating the fine-tuning job". */
  action: string;
  /** Local file the request is about, so a line named in a 400 can be located. */
  file?: string;
  /**
   * Whether a 5xx may be retried: false for requests that create something and carry no
   * idempotency key (a retry could create it twice). 429 is always retried: it was not processed.
   */
  retryServerErrors?: boolean;
  /**
   * Stops this request, its retries and its waits between them (pass RemoteJobContext.signal: the host
   * aborts it when it stops following the job). The call then rejects with CANCELLED.
   */
  signal?: AbortSignal;
}

/** Waits `ms`, or less when `signal` aborts first (the caller then checks the signal). */
const sleep = (ms: number, signal: AbortSignal | undefined) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/** How long to wait before retry `attempt` (0-based): the server's retry-after, else 0.5 s × 2^attempt with jitter, ≤ 8 s. */
export function retryDelayMs(response: Response | undefined, attempt: number): number {
  const ms = Number(response?.headers.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms >= 0 && response?.headers.has('retry-after-ms')) return Math.min(ms, 60_000);
  const seconds = Number(response?.headers.get('retry-after'));
  if (response?.headers.has('retry-after') && Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, 60_000);
  return Math.min(8000, 500 * 2 ** attempt) * (0.75 + Math.random() * 0.25);
}

/**
 * A small JSON-over-HTTP client for REST APIs without an SDK here: bearer or custom headers,
 * retries with backoff on 429 (and 5xx when safe), and every failure mapped once into a
 * FinetuneError that keeps the upstream request id.
 */
export class RestClient {
  constructor(private readonly options: RestClientOptions) {}

  async request<T>(path: string, request: RequestOptions): Promise<T> {
    const response = await this.send(path, request);
    const text = await response.text().catch((error: unknown) => {
      // The body is read under the same signals as the request: an abort or a timeout can land here too.
      const aborted = request.signal?.aborted || this.options.signal?.aborted;
      const code = aborted ? 'CANCELLED' : 'UPSTREAM_ERROR';
      throw new FinetuneError(code, `${this.options.provider}: the answer to ${request.action} was cut off: ${(error as Error).message}`, { cause: error });
    });
    try {
      return (text ? JSON.parse(text) : {}) as T;
    } catch {
      throw new FinetuneError('UPSTREAM_ERROR', `${this.options.provider} answered ${request.action} with something that is not JSON: ${text.slice(0, 200)}`);
    }
  }

  /** The `authorize` headers; a credential that cannot give a token is AUTH_INVALID (not a network failure to retry). */
  private async authorization(action: string): Promise<Record<string, string>> {
    if (!this.options.authorize) return {};
    try {
      return await this.options.authorize();
    } catch (error) {
      throw new FinetuneError('AUTH_INVALID', `${this.options.provider}: no credential for ${action}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Sends with retries and returns the successful response (body unread). */
  async send(path: string, request: RequestOptions): Promise<Response> {
    const { maxRetries, provider } = this.options;
    const context: UpstreamContext = { provider, action: request.action, file: request.file };
    const doFetch = this.options.fetch ?? fetch;
    const stops = [this.options.signal, request.signal].filter((signal): signal is AbortSignal => signal !== undefined);
    const stop = stops.length > 1 ? AbortSignal.any(stops) : stops[0];
    const stopped = () => {
      if (!stop?.aborted) return;
      throw new FinetuneError('CANCELLED', `${provider}: stopped ${request.action} (the caller aborted the request).`, { cause: stop.reason });
    };
    for (let attempt = 0; ; attempt++) {
      stopped();
      let response: Response | undefined;
      const auth = await this.authorization(request.action);
      try {
        response = await doFetch(`${this.options.baseURL.replace(/\/$/, '')}${path}`, {
          method: request.method ?? 'GET',
          headers: {
            ...this.options.headers,
            ...auth,
            ...request.headers,
            ...(request.json !== undefined ? { 'content-type': 'application/json' } : request.bytes ? { 'content-type': 'application/octet-stream' } : {}),
          },
          body: request.form ?? request.bytes ?? (request.json !== undefined ? JSON.stringify(request.json) : undefined),
          signal: stop ? AbortSignal.any([stop, AbortSignal.timeout(this.options.timeoutMs)]) : AbortSignal.timeout(this.options.timeoutMs),
        });
      } catch (error) {
        stopped();
        if (attempt < maxRetries && (request.retryServerErrors ?? true)) {
          await sleep(retryDelayMs(undefined, attempt), stop);
          continue;
        }
        throw new FinetuneError('UPSTREAM_ERROR', `${provider} could not be reached while ${request.action}: ${(error as Error).message}`, { cause: error });
      }
      if (response.ok) return response;
      const retryable = response.status === 429 || (response.status >= 500 && (request.retryServerErrors ?? true));
      if (retryable && attempt < maxRetries) {
        await response.body?.cancel();
        await sleep(retryDelayMs(response, attempt), stop);
        continue;
      }
      const body = await response.text();
      let message = body.slice(0, 500);
      try {
        // OpenAI-style {error: {message}}, plain {message}, or FastAPI's {detail: string | {message}}.
        const parsed = JSON.parse(body) as { error?: { message?: string } | string; message?: string; detail?: { message?: string } | string };
        const detail = typeof parsed.detail === 'string' ? parsed.detail : parsed.detail?.message;
        message = (typeof parsed.error === 'string' ? parsed.error : parsed.error?.message) ?? parsed.message ?? detail ?? message;
      } catch {
        // not JSON: keep the text
      }
      const requestId = response.headers.get('x-request-id') ?? response.headers.get('request-id') ?? response.headers.get('x-ms-request-id') ?? response.headers.get('modal-function-call-id');
      throw upstreamError(context, response.status, message || response.statusText, requestId);
    }
  }
}
