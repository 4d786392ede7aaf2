import type { OnSkip, TelemetryAnnotation, TelemetrySpan } from '../../src/plugins/providers.js';
import { FinetuneError } from '../../src/errors.js';
import { readLines } from '../../src/datasets/line-reader.js';
import { jsonErrorWhere, openForRead, readUserFile } from '../../src/workspace/confine.js';
import { closeSync } from 'node:fs';
import { isAnnotationRecord, isOtlpRequest, openInferenceSpan, otlpSpans, toAnnotation } from './otlp.js';

interface ReadOptions {
  /** Canonical paths, already confined by the host. */
  path: string;
  annotations_path?: string;
  limit?: number;
  max_line_bytes: number;
  max_json_bytes: number;
  signal?: AbortSignal;
}

type Json = Record<string, any>;

/** What the files hold, gathered before annotations are matched to spans. */
interface Sink {
  spans: TelemetrySpan[];
  annotations: TelemetryAnnotation[];
}

function take(value: unknown, where: string, sink: Sink, onSkip?: OnSkip): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => take(v, `${where}[${i}]`, sink, onSkip));
    return;
  }
  if (typeof value !== 'object' || value === null) {
    onSkip?.({ ref: where, reason: 'not a JSON object' });
    return;
  }
  const record = value as Json;
  if (isOtlpRequest(record)) {
    sink.spans.push(...otlpSpans(record, where));
    return;
  }
  // A Phoenix REST page saved to a file: {data: [...], next_cursor}.
  if (Array.isArray(record.data) && !record.context) {
    take(record.data, `${where}.data`, sink, onSkip);
    return;
  }
  if (isAnnotationRecord(record)) {
    sink.annotations.push(toAnnotation(record, where));
    return;
  }
  const read = openInferenceSpan(record, where);
  if (!read.ok) {
    onSkip?.({ ref: where, reason: read.reason });
    return;
  }
  sink.spans.push(read.span);
  read.annotations.forEach((a, i) => sink.annotations.push(toAnnotation({ span_id: read.span.span_id, ...a }, `${where}.annotations[${i}]`)));
}

/**
 * One JSON value a file (an OTLP export, an array of spans) or one record a line (JSON Lines: .jsonl,
 * or a .json the collector's file exporter wrote one request a line). A broken line is a skip naming
 * file:line; a broken single-value file is a located error.
 */
async function readFile(path: string, field: string, options: ReadOptions, sink: Sink, onSkip?: OnSkip): Promise<void> {
  if (!/\.(jsonl|ndjson)$/i.test(path)) {
    const { fd, size } = openForRead(path, field);
    closeSync(fd);
    if (size <= options.max_json_bytes) {
      const text = readUserFile(path, field, 'utf8');
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        // Several lines of JSON are JSON Lines; one broken value is an error with its place.
        if (!/\}\s*\n\s*\{/.test(text)) {
          throw new FinetuneError('FILE_ERROR', `${path} is not valid JSON (${jsonErrorWhere(error, text)}).`, {
            recovery: 'Export the spans again, or as JSON Lines so that one broken record is skipped, not the file.',
            details: { file: path, field },
          });
        }
      }
      if (value !== undefined) {
        take(value, path, sink, onSkip);
        return;
      }
    }
  }
  for await (const line of readLines(path, { maxLineBytes: options.max_line_bytes, signal: options.signal })) {
    const where = `${path}:${line.line}`;
    if (line.too_long) {
      onSkip?.({ ref: where, reason: `line of ${line.byte_length} bytes, over datasets.max_line_bytes` });
      continue;
    }
    const text = line.bytes.toString('utf8');
    if (!text.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      onSkip?.({ ref: where, reason: `not valid JSON (${jsonErrorWhere(error, text)})` });
      continue;
    }
    take(value, where, sink, onSkip);
  }
}

/**
 * The spans of an exported file (and an optional annotations file), each with its annotations.
 * Annotations may come after their span, so the file is read whole before the first span is given;
 * an annotation naming a span the files do not hold is skipped with that reason.
 */
export async function* readSpanFiles(options: ReadOptions, onSkip?: OnSkip): AsyncGenerator<TelemetrySpan> {
  const sink: Sink = { spans: [], annotations: [] };
  await readFile(options.path, 'query.path', options, sink, onSkip);
  if (options.annotations_path) await readFile(options.annotations_path, 'query.annotations_path', options, sink, onSkip);
  const spans = options.limit !== undefined ? sink.spans.slice(0, options.limit) : sink.spans;
  const byId = new Map(spans.map((s) => [s.span_id, s]));
  for (const a of sink.annotations) {
    const span = byId.get(a.span_id);
    if (span) span.annotations.push(a);
    else onSkip?.({ ref: a.id, reason: `annotation '${a.name}' is for span ${a.span_id}, which is not in the file${options.annotations_path ? 's' : ''}` });
  }
  yield* spans;
}
