import { z } from 'zod';
import { FinetuneError } from '../../src/errors.js';
import { definePlugin, PLUGIN_API_VERSION } from '../../src/plugins/types.js';
import { flattenAttributes } from '../../src/datasets/telemetry/attributes.js';
import type { OnSkip, TelemetryAnnotation, TelemetrySpan } from '../../src/plugins/providers.js';
import { spanKind } from '../../src/datasets/telemetry/build.js';
import { writeSpanAnnotations } from './annotate.js';
import { PhoenixClient, type PhoenixSpan, type PhoenixSpanAnnotation } from './client.js';
import { spanToChat } from './span-to-chat.js';

const PhoenixConfig = z.object({
  base_url: z.string().url().optional().describe('Phoenix server, e.g. http://localhost:6006 (or PHOENIX_BASE_URL).'),
  api_key: z.string().optional().describe('Phoenix API key (or PHOENIX_API_KEY).'),
  max_pages: z.number().int().min(1).default(1000).describe('Most pages read from one Phoenix listing; past it the extraction stops with an error, e.g. 1000.'),
  retries: z.number().int().min(0).max(10).default(2).describe('Retries of a GET after a 5xx, 429 or dropped connection, e.g. 2.'),
  retry_base_ms: z.number().int().min(1).default(500).describe('First retry wait in ms, doubling each time, e.g. 500.'),
});

/** What `extract` accepts: which spans, and which feedback a span needs to become an example. */
const PhoenixExtractQuery = z.object({
  project: z.string().min(1),
  start_time: z.string().optional(),
  end_time: z.string().optional(),
  limit: z.number().int().positive().optional(),
  include_errors: z.boolean().default(false),
  /** Keep only spans with this annotation (e.g. "correctness")… */
  annotation_name: z.string().optional(),
  /** …whose label is one of these (e.g. ["correct"])… */
  labels: z.array(z.string()).optional(),
  /** …or whose score is at least this. */
  min_score: z.number().optional(),
});
type PhoenixExtractQuery = z.infer<typeof PhoenixExtractQuery>;

/** What `spans` accepts: which spans to read. Feedback filters are the host's (extract_dataset `feedback`). */
const PhoenixSpansQuery = z.object({
  project: z.string().min(1),
  start_time: z.string().optional(),
  end_time: z.string().optional(),
  limit: z.number().int().positive().optional(),
});

function parseQuery<T extends z.ZodTypeAny>(schema: T, raw: unknown): z.infer<T> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new FinetuneError('INVALID_INPUT', `Phoenix query field '${issue.path.join('.') || '(root)'}': ${issue.message}.`, {
    recovery: 'Pass query {"project": "<Phoenix project name or id>"} plus optional start_time, end_time, annotation_name, labels, min_score, limit.',
    details: { field: `query.${issue.path.join('.')}` },
  });
}

/** A Phoenix annotation in the neutral shape; feedback on one retrieved document names it in metadata.document_position. */
function toTelemetryAnnotation(a: PhoenixSpanAnnotation): TelemetryAnnotation {
  const metadata = a.metadata ?? {};
  const position = metadata.document_position;
  return {
    id: a.id,
    span_id: a.span_id,
    name: a.name,
    annotator_kind: a.annotator_kind,
    label: a.result?.label ?? null,
    score: a.result?.score ?? null,
    explanation: a.result?.explanation ?? null,
    metadata,
    ...(typeof position === 'number' && Number.isInteger(position) ? { document_position: position } : {}),
  };
}

/** A Phoenix span in the neutral telemetry shape (attributes flattened, whether Phoenix sent them flat or nested). */
function toTelemetrySpan(span: PhoenixSpan, project: string): TelemetrySpan {
  return {
    trace_id: span.context.trace_id,
    span_id: span.context.span_id,
    parent_id: span.parent_id,
    name: span.name,
    span_kind: span.span_kind,
    status_code: span.status_code,
    ...(span.status_message ? { status_message: span.status_message } : {}),
    start_time: span.start_time,
    attributes: flattenAttributes(span.attributes ?? {}),
    annotations: [],
    origin: `phoenix:${project}`,
  };
}

const FEEDBACK_KINDS = new Set(['LLM', 'RETRIEVER', 'RERANKER']);

/** Every span of the query, annotations attached (fetched 100 spans at a time); annotations naming other spans are skipped with the reason. */
async function* phoenixSpans(client: PhoenixClient, query: z.infer<typeof PhoenixSpansQuery>, onSkip?: OnSkip): AsyncGenerator<TelemetrySpan> {
  const batch: TelemetrySpan[] = [];
  const flush = async function* () {
    const spans = batch.splice(0);
    const wanted = new Set(spans.filter((s) => FEEDBACK_KINDS.has(spanKind(s))).map((s) => s.span_id));
    const annotations = wanted.size ? await client.annotations(query.project, [...wanted]) : [];
    const bySpan = new Map(spans.map((s) => [s.span_id, s]));
    for (const a of annotations) {
      const span = wanted.has(a.span_id) ? bySpan.get(a.span_id) : undefined;
      if (span) span.annotations.push(toTelemetryAnnotation(a));
      else onSkip?.({ ref: a.id, reason: `annotation '${a.name}' is for span ${a.span_id}, which is not among the spans read` });
    }
    yield* spans;
  };
  let read = 0;
  for await (const span of client.spans({ project: query.project, start_time: query.start_time, end_time: query.end_time })) {
    if (query.limit !== undefined && read >= query.limit) break;
    read++;
    batch.push(toTelemetrySpan(span, query.project));
    if (batch.length >= 100) yield* flush();
  }
  yield* flush();
}

function passes(annotations: PhoenixSpanAnnotation[], query: PhoenixExtractQuery): string | undefined {
  if (!query.annotation_name) return undefined;
  const mine = annotations.filter((a) => a.name === query.annotation_name && a.result);
  if (!mine.length) return `no '${query.annotation_name}' annotation`;
  const ok = mine.some(
    (a) => (query.labels ? a.result!.label !== null && query.labels.includes(a.result!.label) : true) && (query.min_score !== undefined ? (a.result!.score ?? -Infinity) >= query.min_score : true),
  );
  return ok ? undefined : `'${query.annotation_name}' annotation does not pass (${mine.map((a) => a.result!.label ?? a.result!.score).join(', ')})`;
}

export const phoenixPlugin = definePlugin({
  meta: { name: 'phoenix', version: '0.1.0', api_version: PLUGIN_API_VERSION, description: 'Reads Arize Phoenix spans (OpenInference or OTel GenAI) and their annotations, for SFT, DPO and triplet datasets.' },
  provides: ['data_source'],
  capabilities: { data_source: { kinds: ['openinference_llm_spans', 'openinference_retriever_spans', 'otel_genai_spans'], filters: ['time range', 'annotation label', 'annotation score', 'annotator kind'] } },
  configSchema: PhoenixConfig,
  create(ctx) {
    const connection = {
      base_url: ctx.config.base_url ?? ctx.env.PHOENIX_BASE_URL ?? 'http://localhost:6006',
      api_key: ctx.config.api_key ?? ctx.env.PHOENIX_API_KEY,
    };
    const client = new PhoenixClient({ ...connection, max_pages: ctx.config.max_pages, retries: ctx.config.retries, retry_base_ms: ctx.config.retry_base_ms });
    return {
      data_source: {
        // judge_outputs writes its scores back as span annotations (annotator kind LLM).
        annotate: (feedback) => writeSpanAnnotations(connection, feedback),
        spans(raw, onSkip) {
          return phoenixSpans(client, parseQuery(PhoenixSpansQuery, raw), onSkip);
        },
        async *extract(raw, onSkip) {
          const query = parseQuery(PhoenixExtractQuery, raw);
          let emitted = 0;
          const batch: Array<{ span: import('./client.js').PhoenixSpan; messages: import('./span-to-chat.js').ChatMessage[] }> = [];
          const flush = async function* () {
            const annotations = query.annotation_name ? await client.annotations(query.project, batch.map((b) => b.span.context.span_id)) : [];
            for (const { span, messages } of batch.splice(0)) {
              const reason = passes(annotations.filter((a) => a.span_id === span.context.span_id), query);
              if (reason) {
                onSkip?.({ ref: span.context.span_id, reason });
                continue;
              }
              if (query.limit !== undefined && emitted >= query.limit) return;
              emitted++;
              yield {
                messages,
                metadata: { source: 'phoenix', project: query.project, trace_id: span.context.trace_id, span_id: span.context.span_id, model: span.attributes['llm.model_name'] ?? null, start_time: span.start_time },
              };
            }
          };
          for await (const span of client.spans({ project: query.project, start_time: query.start_time, end_time: query.end_time, span_kind: 'LLM' })) {
            if (query.limit !== undefined && emitted >= query.limit) break;
            // Older Phoenix servers ignore span_kind: filter here too.
            if (span.span_kind !== 'LLM' && span.attributes['openinference.span.kind'] !== 'LLM') continue;
            if (span.status_code === 'ERROR' && !query.include_errors) {
              onSkip?.({ ref: span.context.span_id, reason: `span status ERROR${span.status_message ? `: ${span.status_message}` : ''}` });
              continue;
            }
            const converted = spanToChat(span.attributes);
            if (!converted.ok) {
              onSkip?.({ ref: span.context.span_id, reason: converted.reason });
              continue;
            }
            batch.push({ span, messages: converted.messages });
            if (batch.length >= 100) yield* flush();
          }
          yield* flush();
        },
      },
    };
  },
});
