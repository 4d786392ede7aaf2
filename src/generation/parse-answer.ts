import { z } from 'zod';
import { jsonErrorWhere } from '../workspace/confine.js';
import { PROMPT_TEMPLATES, type FieldSpec } from './prompts.js';
import type { GenerationKind } from './types.js';

/** One generated row's fields by name, e.g. {question, answer}: every field present and non-empty. */
export type GeneratedItem = Record<string, string>;

/** The rows of an answer, or why the answer cannot be used (for a retry, then the queue's report). */
type ParsedAnswer = { items: GeneratedItem[] } | { problem: string };

const schemas = new Map<GenerationKind, z.ZodType<{ rows: GeneratedItem[] }>>();

/** The zod schema of a kind's structured answer: `{rows: [{field: non-empty string}]}`. */
export function answerSchema(kind: GenerationKind): z.ZodType<{ rows: GeneratedItem[] }> {
  let schema = schemas.get(kind);
  if (!schema) {
    const row = z.object(Object.fromEntries(PROMPT_TEMPLATES[kind].fields.map((f) => [f.name, z.string().trim().min(1, `${f.name} is empty`)])));
    schema = z.object({ rows: z.array(row) }) as unknown as z.ZodType<{ rows: GeneratedItem[] }>;
    schemas.set(kind, schema);
  }
  return schema;
}

/**
 * Reads a structured answer: JSON (a single surrounding Markdown code fence is allowed, as some
 * servers add one) validated by the kind's schema. Nothing is repaired or guessed: a malformed
 * answer comes back as a problem.
 */
export function parseStructured(kind: GenerationKind, text: string): ParsedAnswer {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n```\s*$/.exec(text);
  const body = fenced ? fenced[1] : text;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    return { problem: body.trim() ? `the answer is not JSON (${jsonErrorWhere(error, body)})` : 'the answer is empty' };
  }
  const parsed = answerSchema(kind).safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
    return { problem: `the answer does not match the ${kind} schema: ${where ? `${where}: ` : ''}${issue.message}` };
  }
  return { items: parsed.data.rows };
}

/**
 * Reads a plain-text answer of labelled fields ("Question: …\nAnswer: …"), for models that cannot be
 * held to a schema. Labels are matched at a line's start, in any case, with Markdown bold, a list
 * dash or a number before them; a one-line field ends at its line's end, a multi-line one at the next
 * label. One row: a second "Question:" ends the first row's answer. Every field must be there and
 * non-empty, or the answer is a problem.
 */
export function parseLabelled(kind: GenerationKind, text: string): ParsedAnswer {
  const item: GeneratedItem = {};
  for (const f of PROMPT_TEMPLATES[kind].fields) {
    const value = readField(kind, f, text);
    if (value === undefined) return { problem: `no "${f.label}:" field in the answer` };
    if (!value) return { problem: `"${f.label}:" is empty` };
    item[f.name] = value;
  }
  return { items: [item] };
}

/** One labelled field's value ('' when empty), or undefined when its label is not there. */
export function readField(kind: GenerationKind, field: FieldSpec, text: string): string | undefined {
  const marks = labelMarks(PROMPT_TEMPLATES[kind].fields, text);
  const at = marks.findIndex((m) => m.field === field);
  if (at < 0) return undefined;
  const value = text.slice(marks[at].end, marks[at + 1]?.start ?? text.length).trim();
  return field.multiline ? value : value.split('\n')[0].trim();
}

interface LabelMark {
  field: FieldSpec;
  start: number;
  end: number;
}

/** Where each field label starts and its value begins, in text order. */
function labelMarks(fields: FieldSpec[], text: string): LabelMark[] {
  // Longest labels first, so "Search query" wins over "Query" and "Worse answer" over "Answer".
  const labels = fields.flatMap((f) => [f.label, ...f.aliases].map((label) => ({ label, field: f }))).sort((a, b) => b.label.length - a.label.length);
  const escaped = labels.map((l) => l.label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const pattern = new RegExp(`^[ \\t>#*_-]*(?:\\d+[.)][ \\t]*)?\\**(${escaped.join('|')})\\**[ \\t]*[:：]\\**[ \\t]*`, 'gim');
  const marks: LabelMark[] = [];
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    const found = labels.find((l) => l.label.toLowerCase() === m![1].toLowerCase())!;
    marks.push({ field: found.field, start: m.index, end: m.index + m[0].length });
  }
  return marks;
}
