/**
 * Exported span files → telemetry spans. Two shapes, as their producers write them:
 * - OTLP/JSON (the OTLP protobuf's JSON mapping, as the collector's file exporter writes it, one
 *   export request a line or one a file): `resourceSpans[].scopeSpans[].spans[]` with attributes as
 *   `[{key, value: {stringValue | intValue | doubleValue | boolValue | arrayValue | kvlistValue | bytesValue}}]`,
 *   hex trace/span ids, times in Unix nanoseconds (strings), status codes 0/1/2 or STATUS_CODE_*.
 * - OpenInference / Phoenix span records (one a line): `{name, context: {trace_id, span_id}, span_kind,
 *   parent_id, start_time, status_code, attributes}`, attributes flat or nested, or the spans
 *   dataframe's dotted columns (`context.span_id`, `attributes.llm.input_messages`…).
 * Annotation records (Phoenix span annotations, `{span_id, name, annotator_kind, result: {label, score,
 * explanation}, metadata}`, or document annotations with `document_position`) may sit among them, in a
 * span's `annotations` list, or in a separate file.
 */
import type { TelemetryAnnotation, TelemetrySpan } from '../../src/plugins/providers.js';
import { flattenAttributes } from '../../src/datasets/telemetry/attributes.js';

type Json = Record<string, any>;

/** An OTLP AnyValue as a plain value (int64 strings become numbers when exact). */
function anyValue(value: Json | undefined): unknown {
  if (!value || typeof value !== 'object') return value ?? null;
  if ('stringValue' in value) return value.stringValue;
  if ('boolValue' in value) return value.boolValue;
  if ('intValue' in value) {
    const n = Number(value.intValue);
    return Number.isSafeInteger(n) ? n : String(value.intValue);
  }
  if ('doubleValue' in value) return Number(value.doubleValue);
  if ('arrayValue' in value) return ((value.arrayValue?.values ?? []) as Json[]).map(anyValue);
  if ('kvlistValue' in value) return keyValues(value.kvlistValue?.values);
  if ('bytesValue' in value) return value.bytesValue;
  return null;
}

function keyValues(list: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (Array.isArray(list)) for (const kv of list as Json[]) if (kv && typeof kv.key === 'string') out[kv.key] = anyValue(kv.value);
  return out;
}

const STATUS: Record<string, string> = { '0': 'UNSET', '1': 'OK', '2': 'ERROR', STATUS_CODE_UNSET: 'UNSET', STATUS_CODE_OK: 'OK', STATUS_CODE_ERROR: 'ERROR' };

function nanosToIso(nanos: unknown): string | null {
  if (nanos === undefined || nanos === null || nanos === '') return null;
  try {
    return new Date(Number(BigInt(String(nanos)) / 1_000_000n)).toISOString();
  } catch {
    return null;
  }
}

/** Hex ids as OTLP/JSON writes them; a base64 id (protobuf JSON written by a generic mapper) is turned into hex. */
function hexId(id: unknown, bytes: number): string {
  const s = String(id ?? '');
  if (new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(s)) return s.toLowerCase();
  const decoded = Buffer.from(s, 'base64');
  return decoded.length === bytes ? decoded.toString('hex') : s;
}

/**
 * GenAI semconv ≤ 1.27 put prompt and completion in span events (`gen_ai.content.prompt` with a
 * `gen_ai.prompt` attribute, `gen_ai.content.completion` with `gen_ai.completion`); read them as
 * the span attributes of the same name (a span's own attributes win).
 */
function contentEvents(events: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!Array.isArray(events)) return out;
  for (const e of events as Json[]) {
    const attrs = keyValues(e?.attributes);
    if (e?.name === 'gen_ai.content.prompt' && attrs['gen_ai.prompt'] !== undefined) out['gen_ai.prompt'] = attrs['gen_ai.prompt'];
    if (e?.name === 'gen_ai.content.completion' && attrs['gen_ai.completion'] !== undefined) out['gen_ai.completion'] = attrs['gen_ai.completion'];
  }
  return out;
}

export function isOtlpRequest(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Array.isArray((value as Json).resourceSpans);
}

/** The spans of one OTLP export request; `where` names the file (and line) for the span's origin. */
export function otlpSpans(request: Json, where: string): TelemetrySpan[] {
  const out: TelemetrySpan[] = [];
  for (const rs of request.resourceSpans as Json[]) {
    for (const ss of ((rs?.scopeSpans ?? rs?.instrumentationLibrarySpans ?? []) as Json[])) {
      for (const s of (ss?.spans ?? []) as Json[]) {
        const attributes = { ...contentEvents(s.events), ...keyValues(s.attributes) };
        out.push({
          trace_id: hexId(s.traceId, 16),
          span_id: hexId(s.spanId, 8),
          parent_id: s.parentSpanId ? hexId(s.parentSpanId, 8) : null,
          name: String(s.name ?? ''),
          // The OTLP kind (client, server…) says nothing of what the span did; the host reads that from attributes.
          span_kind: String(attributes['openinference.span.kind'] ?? 'UNKNOWN'),
          status_code: STATUS[String(s.status?.code ?? 0)] ?? 'UNSET',
          ...(s.status?.message ? { status_message: String(s.status.message) } : {}),
          start_time: nanosToIso(s.startTimeUnixNano),
          attributes: flattenAttributes(attributes),
          annotations: [],
          origin: where,
        });
      }
    }
  }
  return out;
}

/** Whether a record is an annotation (not a span): a span id and a name, no span context. */
export function isAnnotationRecord(value: Json): boolean {
  return typeof value.span_id === 'string' && typeof value.name === 'string' && !value.context && !('context.span_id' in value) && ('result' in value || 'label' in value || 'score' in value || 'explanation' in value);
}

/** An annotation record in the neutral shape; `fallbackId` when the record has none (file:line). */
export function toAnnotation(value: Json, fallbackId: string): TelemetryAnnotation {
  const result = (value.result ?? value) as Json;
  const metadata = value.metadata && typeof value.metadata === 'object' ? (value.metadata as Record<string, unknown>) : {};
  const position = value.document_position ?? metadata.document_position;
  return {
    id: String(value.id ?? fallbackId),
    span_id: String(value.span_id),
    name: String(value.name),
    annotator_kind: String(value.annotator_kind ?? 'HUMAN').toUpperCase(),
    label: typeof result.label === 'string' ? result.label : null,
    score: typeof result.score === 'number' ? result.score : null,
    explanation: typeof result.explanation === 'string' ? result.explanation : null,
    metadata,
    ...(Number.isInteger(position) ? { document_position: position as number } : {}),
  };
}

/** A Phoenix / OpenInference span record (nested or dotted columns); a reason when it is not one. */
export function openInferenceSpan(value: Json, where: string): { ok: true; span: TelemetrySpan; annotations: Json[] } | { ok: false; reason: string } {
  const { annotations, ...rest } = value;
  const flat = flattenAttributes(rest);
  const spanId = flat['context.span_id'] ?? flat.span_id;
  const traceId = flat['context.trace_id'] ?? flat.trace_id;
  if (typeof spanId !== 'string' || !spanId) return { ok: false, reason: 'neither a span (context.span_id), an annotation (span_id, name, result) nor an OTLP export (resourceSpans)' };
  const attributes: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flat)) if (k.startsWith('attributes.')) attributes[k.slice('attributes.'.length)] = v;
  const kind = flat.span_kind ?? attributes['openinference.span.kind'] ?? 'UNKNOWN';
  const span: TelemetrySpan = {
    trace_id: String(traceId ?? ''),
    span_id: spanId,
    parent_id: typeof flat.parent_id === 'string' ? flat.parent_id : null,
    name: String(flat.name ?? ''),
    span_kind: String(kind).toUpperCase(),
    status_code: String(flat.status_code ?? 'UNSET').toUpperCase(),
    ...(typeof flat.status_message === 'string' && flat.status_message ? { status_message: flat.status_message } : {}),
    start_time: typeof flat.start_time === 'string' ? flat.start_time : null,
    attributes,
    annotations: [],
    origin: where,
  };
  return { ok: true, span, annotations: Array.isArray(annotations) ? (annotations as Json[]) : [] };
}
