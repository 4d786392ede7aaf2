import type { SourceFeedback } from '../../src/plugins/providers.js';
import type { PhoenixClientOptions } from './client.js';

/** Annotations per request; Phoenix's own clients log span annotations in batches of this order. */
const BATCH = 100;
const RETRIES = 2;

type Outcome = { ok: true } | { ok: false; status?: number; reason: string };

/**
 * Writes span annotations through Phoenix's REST API, `POST /v1/span_annotations?sync=true` with
 * `{data: [{span_id, name, annotator_kind, result: {score, explanation}, identifier, metadata}]}`
 * (sync: Phoenix inserts before it answers, so an unknown span is refused now, with 404, not lost
 * later). Nothing throws: a batch Phoenix refuses is sent again one annotation at a time, so that each
 * refused span is named with Phoenix's reason; an auth failure or an unreachable server fails the rest.
 */
export async function writeSpanAnnotations(options: PhoenixClientOptions, feedback: SourceFeedback[]): Promise<{ written: number; failed: Array<{ ref: string; reason: string }> }> {
  const failed: Array<{ ref: string; reason: string }> = [];
  let written = 0;
  for (let i = 0; i < feedback.length; i += BATCH) {
    const batch = feedback.slice(i, i + BATCH);
    const outcome = await post(options, batch);
    if (outcome.ok) {
      written += batch.length;
      continue;
    }
    const fatal = outcome.status === undefined || outcome.status === 401 || outcome.status === 403;
    if (fatal || batch.length === 1) {
      const rest = fatal ? feedback.slice(i) : batch;
      failed.push(...rest.map((f) => ({ ref: f.ref, reason: outcome.reason })));
      if (fatal) break;
      continue;
    }
    for (const one of batch) {
      const single = await post(options, [one]);
      if (single.ok) written++;
      else failed.push({ ref: one.ref, reason: single.reason });
    }
  }
  return { written, failed };
}

async function post(options: PhoenixClientOptions, batch: SourceFeedback[]): Promise<Outcome> {
  const base = options.base_url.replace(/\/+$/, '');
  const body = JSON.stringify({
    data: batch.map((f) => ({
      span_id: f.ref,
      name: f.name,
      annotator_kind: f.annotator_kind,
      result: { score: f.score, ...(f.explanation !== undefined ? { explanation: f.explanation } : {}) },
      ...(f.identifier !== undefined ? { identifier: f.identifier } : {}),
      ...(f.metadata ? { metadata: f.metadata } : {}),
    })),
  });
  const headers = { 'content-type': 'application/json', accept: 'application/json', ...(options.api_key ? { authorization: `Bearer ${options.api_key}` } : {}) };
  const doFetch = options.fetch ?? globalThis.fetch;
  for (let attempt = 0; ; attempt++) {
    let response: Response;
    try {
      response = await doFetch(`${base}/v1/span_annotations?sync=true`, { method: 'POST', headers, body });
    } catch (error) {
      return { ok: false, reason: `cannot reach Phoenix at ${base}: ${(error as Error).message}` };
    }
    if (response.ok) {
      await response.body?.cancel();
      return { ok: true };
    }
    // 429 and 5xx were not applied (sync): sending again cannot write twice, and the identifier makes it an update anyway.
    if ((response.status === 429 || response.status >= 500) && attempt < RETRIES) {
      await response.body?.cancel();
      const after = Number(response.headers.get('retry-after'));
      await new Promise((resolve) => setTimeout(resolve, Number.isFinite(after) && after >= 0 && response.headers.has('retry-after') ? Math.min(after * 1000, 10_000) : 250 * 2 ** attempt));
      continue;
    }
    const text = (await response.text()).slice(0, 300);
    const hint = response.status === 401 || response.status === 403 ? ' (set PHOENIX_API_KEY or plugins.phoenix.api_key)' : '';
    return { ok: false, status: response.status, reason: `POST /v1/span_annotations → HTTP ${response.status}${text ? `: ${text}` : ''}${hint}` };
  }
}
