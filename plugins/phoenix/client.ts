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
}

export interface PhoenixClientOptions {
  base_url: string;
  api_key?: string;
  fetch?: typeof fetch;
}

export interface SpanQuery {
  project: string;
  start_time?: string;
  end_time?: string;
  span_kind?: string;
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
    let cursor: string | null = null;
    do {
      const params = new URLSearchParams({ limit: String(query.page_size ?? 1000) });
      if (query.span_kind) params.append('span_kind', query.span_kind);
      if (query.start_time) params.set('start_time', query.start_time);
      if (query.end_time) params.set('end_time', query.end_time);
      if (cursor) params.set('cursor', cursor);
      const page: Page<PhoenixSpan> = await this.get(`/v1/projects/${encodeURIComponent(query.project)}/spans?${params}`);
      yield* page.data;
      cursor = page.next_cursor;
    } while (cursor);
  }

  /** Annotations of the given spans (hex OTel span ids), in chunks the server accepts. */
  async annotations(project: string, spanIds: string[]): Promise<PhoenixSpanAnnotation[]> {
    const all: PhoenixSpanAnnotation[] = [];
    for (let i = 0; i < spanIds.length; i += 100) {
      let cursor: string | null = null;
      do {
        const params = new URLSearchParams({ limit: '10000' });
        for (const id of spanIds.slice(i, i + 100)) params.append('span_ids', id);
        if (cursor) params.set('cursor', cursor);
        const page: Page<PhoenixSpanAnnotation> = await this.get(`/v1/projects/${encodeURIComponent(project)}/span_annotations?${params}`);
        all.push(...page.data);
        cursor = page.next_cursor;
      } while (cursor);
    }
    return all;
  }

  private async get<T>(path: string): Promise<T> {
    const url = `${this.base}${path}`;
    let response: Response;
    try {
      response = await this.fetch(url, { headers: { accept: 'application/json', ...(this.options.api_key ? { authorization: `Bearer ${this.options.api_key}` } : {}) } });
    } catch (error) {
      throw new FinetuneError('UPSTREAM_ERROR', `Cannot reach Phoenix at ${this.base}: ${(error as Error).message}`, {
        recovery: 'Check that Phoenix runs and that plugins.phoenix.base_url (or PHOENIX_BASE_URL) points at it.',
      });
    }
    if (response.ok) return (await response.json()) as T;
    const body = (await response.text()).slice(0, 300);
    const where = `GET ${path.split('?')[0]} → HTTP ${response.status}${body ? `: ${body}` : ''}`;
    if (response.status === 401 || response.status === 403) {
      throw new FinetuneError('AUTH_INVALID', `Phoenix refused the request (${where}).`, { recovery: 'Set PHOENIX_API_KEY (or plugins.phoenix.api_key) to a valid API key.' });
    }
    if (response.status === 404) throw new FinetuneError('NOT_FOUND', `Phoenix has no such project (${where}).`, { recovery: 'Use a project name or id that Phoenix lists under Projects.' });
    if (response.status === 422) throw new FinetuneError('INVALID_INPUT', `Phoenix rejected the query (${where}).`, { recovery: 'Check start_time/end_time (ISO-8601 with a time zone).' });
    if (response.status === 429) throw new FinetuneError('RATE_LIMITED', `Phoenix is limiting requests (${where}).`);
    throw new FinetuneError('UPSTREAM_ERROR', `Phoenix failed (${where}).`);
  }
}
