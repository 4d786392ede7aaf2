import { z } from 'zod';
import { FinetuneError } from '../../src/errors.js';
import { definePlugin, PLUGIN_API_VERSION } from '../../src/plugins/types.js';

const OtelFilesConfig = z.object({
  max_line_bytes: z.number().int().min(1024).default(64 * 1024 * 1024).describe('Longest record line read from a JSON Lines span file; a longer one is skipped with the reason, e.g. 67108864.'),
  max_json_bytes: z.number().int().min(1024).default(64 * 1024 * 1024).describe('Largest span file read as one JSON value (an OTLP export); a larger one is read as JSON Lines, e.g. 67108864.'),
});

/** The query: the file (the host has confined `path` and `annotations_path` to the allowed roots). */
const FilesQuery = z.object({
  path: z.string().min(1),
  annotations_path: z.string().min(1).optional(),
  limit: z.number().int().positive().optional(),
});

/**
 * Exported telemetry as a data source: OTLP/JSON trace exports (OTel GenAI or OpenInference
 * attributes) and OpenInference / Phoenix span dumps in JSON Lines, with annotation records in the
 * same file or in `annotations_path`. Reads local files only: no network.
 */
export const otelFilesPlugin = definePlugin({
  meta: { name: 'otel-files', version: '0.1.0', api_version: PLUGIN_API_VERSION, description: 'Reads exported span files (OTLP/JSON traces, OpenInference/Phoenix span JSONL) and their annotations, for SFT, DPO and triplet datasets.' },
  provides: ['data_source'],
  capabilities: { data_source: { kinds: ['otlp_json', 'openinference_jsonl'], filters: ['annotation label', 'annotation score', 'annotator kind'] } },
  configSchema: OtelFilesConfig,
  create(ctx) {
    const parse = (raw: Record<string, unknown>) => {
      const parsed = FilesQuery.safeParse(raw);
      if (parsed.success) return parsed.data;
      const issue = parsed.error.issues[0];
      throw new FinetuneError('INVALID_INPUT', `otel-files query field '${issue.path.join('.') || '(root)'}': ${issue.message}.`, {
        recovery: 'Pass query {"path": "<OTLP/JSON export or span JSONL file>"} plus optional annotations_path and limit.',
        details: { field: `query.${issue.path.join('.')}` },
      });
    };
    return {
      data_source: {
        async *spans(raw, onSkip) {
          const query = parse(raw);
          const { readSpanFiles } = await import('./read.js');
          yield* readSpanFiles({ ...query, max_line_bytes: ctx.config.max_line_bytes, max_json_bytes: ctx.config.max_json_bytes }, onSkip);
        },
        // Plain rows (no feedback, no kind choice) for callers of the generic data-source contract: the SFT chats of the file's LLM spans.
        async *extract(raw, onSkip) {
          const query = parse(raw);
          const [{ readSpanFiles }, { spanToChat }, { spanKind }] = await Promise.all([import('./read.js'), import('../../src/datasets/telemetry/span-to-chat.js'), import('../../src/datasets/telemetry/build.js')]);
          for await (const span of readSpanFiles({ ...query, max_line_bytes: ctx.config.max_line_bytes, max_json_bytes: ctx.config.max_json_bytes }, onSkip)) {
            if (spanKind(span) !== 'LLM') continue;
            const chat = spanToChat(span.attributes);
            if (!chat.ok) onSkip?.({ ref: span.span_id, reason: chat.reason });
            else yield { messages: chat.messages, metadata: { source: 'otel-files', trace_id: span.trace_id, span_id: span.span_id, ...(span.start_time ? { start_time: span.start_time } : {}) } };
          }
        },
      },
    };
  },
});
