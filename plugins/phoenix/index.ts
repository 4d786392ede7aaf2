import { z } from 'zod';
import { FinetuneError } from '../../src/errors.js';
import { definePlugin, PLUGIN_API_VERSION } from '../../src/plugins/types.js';
import { writeSpanAnnotations } from './annotate.js';
import { PhoenixClient, type PhoenixSpanAnnotation } from './client.js';
import { spanToChat } from './span-to-chat.js';

const PhoenixConfig = z.object({
  base_url: z.string().url().optional().describe('Phoenix server, e.g. http://localhost:6006 (or PHOENIX_BASE_URL).'),
  api_key: z.string().optional().describe('Phoenix API key (or PHOENIX_API_KEY).'),
});

/** What `extract` accepts: which spans, and which feedback a span needs to become an example. */
export const PhoenixExtractQuery = z.object({
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
export type PhoenixExtractQuery = z.infer<typeof PhoenixExtractQuery>;

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
  meta: { name: 'phoenix', version: '0.1.0', api_version: PLUGIN_API_VERSION, description: 'Extracts chat datasets from Arize Phoenix / OpenInference LLM spans and their annotations.' },
  provides: ['data_source'],
  capabilities: { data_source: { kinds: ['openinference_llm_spans'], filters: ['time range', 'annotation label', 'annotation score'] } },
  configSchema: PhoenixConfig,
  create(ctx) {
    const connection = {
      base_url: ctx.config.base_url ?? ctx.env.PHOENIX_BASE_URL ?? 'http://localhost:6006',
      api_key: ctx.config.api_key ?? ctx.env.PHOENIX_API_KEY,
    };
    const client = new PhoenixClient(connection);
    return {
      data_source: {
        // judge_outputs writes its scores back as span annotations (annotator kind LLM).
        annotate: (feedback) => writeSpanAnnotations(connection, feedback),
        async *extract(raw, onSkip) {
          const parsed = PhoenixExtractQuery.safeParse(raw);
          if (!parsed.success) {
            const issue = parsed.error.issues[0];
            throw new FinetuneError('INVALID_INPUT', `Phoenix query field '${issue.path.join('.') || '(root)'}': ${issue.message}.`, {
              recovery: 'Pass query {"project": "<Phoenix project name or id>"} plus optional start_time, end_time, annotation_name, labels, min_score, limit.',
              details: { field: `query.${issue.path.join('.')}` },
            });
          }
          const query = parsed.data;
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

export default phoenixPlugin;
