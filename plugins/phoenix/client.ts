import { FinetuneError } from '../../src/errors.js';

/** A span as Phoenix's REST API v1 returns it (`GET /v1/projects/{project}/spans`). */
export interface PhoenixSpan {
  id: string;
  name: string;
  context: { trace_id: string; span_id: string };
  span_kind: string;
  parent_id: string | null;
  start_time: string;
  end_time: string;
  status_code: 'OK' | 'ERROR' | 'UNSET' | string;
  status_message?: string;
  attributes: Record<string, unknown>;
  events?: unknown[];
}

export interface PhoenixSpanAnnotation {
  id: string;
  span_id: string;
  name: string;
  annotator_kind: 'LLM' | 'CODE' | 'HUMAN' | string;
  result: { label: string | null; score: number | null; explanation: string | null } | null;
  identifier?: string;
  metadata?: Record<string, unknown> | null;
}

export interface PhoenixClientOptions {
  base_url: string;
  api_key?: string;
  fetch?: typeof fetch;
  /** Pages read from one listing before giving up (a server whose cursor never ends). */
  max_pages?: number;
  /** Tries after a 5xx, 429 or a dropped connection, waiting retry_base_ms × 2^attempt between. */
  retries?: number;
  retry_base_ms?: number;
}

interface SpanQuery {
  project: string;
  start_time?: string;
  end_time?: string;
  span_kind?: string | string[];
  page_size?: number;
}

interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** Phoenix REST v1 over fetch; failures are translated once, here, with the request id when sent. */
export class PhoenixClient {
  private readonly fetch: typeof fetch;
  private readonly base: string;

  constructor(private readonly options: PhoenixClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.base = options.base_url.replace(/\/+$/, '');
  }

  /** Every span of a project matching the filters, newest first, following `next_cursor`. */
  async *spans(query: SpanQuery): AsyncGenerator<PhoenixSpan> {
    const path = `/v1/projects/${encodeURIComponent(query.project)}/spans`;
    yield* this.pages<PhoenixSpan>(path, (params) => {
      params.set('limit', String(query.page_size ?? 1000));
      for (const kind of [query.span_kind ?? []].flat()) params.append('span_kind', kind);
      if (query.start_time) params.set('start_time', query.start_time);
      if (query.end_time) params.set('end_time', query.end_time);
    });
  }

  /**
   * Follows `next_cursor` page by page. A cursor seen before, or more than `max_pages` pages, stops
   * the listing with an error naming the page: a server that pages forever must not hang the call.
   */
  private async *pages<T>(path: string, fill: (params: URLSearchParams) => void): AsyncGenerator<T> {
    const maxPages = this.options.max_pages ?? 1000;
    const seen = new Set<string>();
    let cursor: string | null = null;
    let page = 0;
    do {
      if (++page > maxPages) {
        throw new FinetuneError('UPSTREAM_ERROR', `Phoenix kept paging GET ${path}: stopped after ${maxPages} pages (cursor ${cursor}); nothing was extracted.`, {
          recovery: 'Narrow the query (start_time / end_time, limit) or raise plugins.phoenix.max_pages, then extract again.',
          retryable: false,
          details: { field: 'plugins.phoenix.max_pages', page },
        });
      }
      const params = new URLSearchParams();
      fill(params);
      if (cursor) params.set('cursor', cursor);
      const body: Page<T> = await this.get(`${path}?${params}`, page);
      if (!body || !Array.isArray(body.data)) throw new FinetuneError('UPSTREAM_ERROR', `Phoenix answered GET ${path} (page ${page}) without a data list.`, { details: { page } });
      yield* body.data;
      if (body.next_cursor && seen.has(body.next_cursor)) {
        throw new FinetuneError('UPSTREAM_ERROR', `Phoenix returned cursor ${body.next_cursor} twice for GET ${path} (page ${page}): its listing loops; nothing was extracted.`, {
          recovery: 'Narrow the query (start_time / end_time) or upgrade Phoenix; the server is paging in a circle.',
          retryable: false,
          details: { page },
        });
      }
      if (body.next_cursor) seen.add(body.next_cursor);
      cursor = body.next_cursor ?? null;
    } while (cursor);
  }

  /** Annotations of the given spans (hex OTel span ids), in chunks the server accepts. */
  async annotations(project: string, spanIds: string[]): Promise<PhoenixSpanAnnotation[]> {
    const all: PhoenixSpanAnnotation[] = [];
    for (let i = 0; i < spanIds.length; i += 100) {
      const ids = spanIds.slice(i, i + 100);
      for await (const a of this.pages<PhoenixSpanAnnotation>(`/v1/projects/${encodeURIComponent(project)}/span_annotations`, (params) => {
        params.set('limit', '10000');
        for (const id of ids) params.append('span_ids', id);
      })) {
        all.push(a);
      }
    }
    return all;
  }

  /** One GET, retried after a dropped connection, 5xx or 429 (`retries` times, backoff doubling). */
  private async get<T>(path: string, page?: number): Promise<T> {
    const retries = this.options.retries ?? 2;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.getOnce<T>(path, page);
      } catch (error) {
        if (!(error instanceof FinetuneError) || !error.retryable || attempt >= retries) throw error;
        await new Promise((resolve) => setTimeout(resolve, (this.options.retry_base_ms ?? 500) * 2 ** attempt));
      }
    }
  }

  private async getOnce<T>(path: string, page?: number): Promise<T> {
    const url = `${this.base}${path}`;
    let response: Response;
    try {
      response = await this.fetch(url, { headers: { accept: 'application/json', ...(this.options.api_key ? { authorization: `Bearer ${this.options.api_key}` } : {}) } });
    } catch (error) {
      throw new FinetuneError('UPSTREAM_ERROR', `Cannot reach Phoenix at ${this.base}: ${(error as Error).message}`, {
        recovery: 'Check that Phoenix runs and that plugins.phoenix.base_url (or PHOENIX_BASE_URL) points at it.',
      });
    }
    if (response.ok) {
      const text = await response.text();
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new FinetuneError('UPSTREAM_ERROR', `Phoenix answered GET ${path.split('?')[0]}${page ? ` (page ${page})` : ''} with something that is not JSON.`, { retryable: false, details: { page } });
      }
    }
    const body = (await response.text()).slice(0, 300);
    const where = `GET ${path.split('?')[0]}${page ? ` (page ${page})` : ''} → HTTP ${response.status}${body ? `: ${body}` : ''}`;
    if (response.status === 401 || response.status === 403) {
      throw new FinetuneError('AUTH_INVALID', `Phoenix refused the request (${where}).`, { recovery: 'Set PHOENIX_API_KEY (or plugins.phoenix.api_key) to a valid API key.' });
    }
    if (response.status === 404) throw new FinetuneError('NOT_FOUND', `Phoenix has no such project (${where}).`, { recovery: 'Use a project name or id that Phoenix lists under Projects.' });
    if (response.status === 422) throw new FinetuneError('INVALID_INPUT', `Phoenix rejected the query (${where}).`, { recovery: 'Check start_time/end_time (ISO-8601 with a time zone).' });
    if (response.status === 429) throw new FinetuneError('RATE_LIMITED', `Phoenix is limiting requests (${where}).`);
    throw new FinetuneError('UPSTREAM_ERROR', `Phoenix failed (${where}).`);
  }
}
