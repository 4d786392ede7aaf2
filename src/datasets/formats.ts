/**
 * Source layouts and their normalisation to canonical rows; each format family lives in formats/
 * (chat, sharegpt, instruction, preference, feedback, plain fields), sharing formats/shared.ts.
 */
import { issue, type DatasetIssue } from './issues.js';
import { normalizeChat } from './formats/chat.js';
import { FEEDBACK_KEYS, normalizeKto } from './formats/feedback.js';
import { normalizeClassification, normalizeScoredPair, stringFields } from './formats/fields.js';
import { normalizeInstruction } from './formats/instruction.js';
import { normalizeOpenAiDpo, normalizePreference, normalizeShareGptPreference } from './formats/preference.js';
import { normalizeShareGpt } from './formats/sharegpt.js';
import { describe, FORMAT_FIX, isObject, type Normalized } from './formats/shared.js';
import type { SourceFormat } from './types.js';


/** Guesses the source layout of one record from its keys; undefined when no layout fits. */
export function detectFormat(value: unknown): SourceFormat | undefined {
  if (!isObject(value)) return undefined;
  const has = (k: string) => k in value;
  // A judged answer (KTO): a conversation or prompt/completion with a true/false label.
  if (FEEDBACK_KEYS.some((k) => typeof value[k] === 'boolean') && (has('messages') || has('conversations') || (has('prompt') && has('completion')))) return 'kto';
  if (has('messages')) return 'chat';
  if (has('conversations')) return has('chosen') && has('rejected') ? 'sharegpt_preference' : 'sharegpt';
  if (has('input') && has('preferred_output')) return 'openai_dpo';
  if (has('chosen') && has('rejected')) return 'preference';
  if (has('instruction') && has('output')) return 'instruction';
  if (has('prompt') && has('completion')) return 'completion';
  if (has('anchor') && has('positive') && has('negative')) return 'triplet';
  if (has('anchor') && has('positive')) return 'pair';
  if (has('sentence1') && has('sentence2') && has('score')) return 'scored_pair';
  if (has('text') && has('label')) return 'classification';
  if (has('text')) return 'text';
  return undefined;
}

/** Normalises one record of a known layout; every problem is reported, none thrown. */
export function normalizeRecord(format: SourceFormat, value: unknown, line: number): Normalized {
  if (!isObject(value)) {
    return { issues: [issue(line, 'error', 'data_type', '', `Example is ${describe(value)}, not a JSON object.`, FORMAT_FIX[format])] };
  }
  const dropped = format === 'kto' || format === 'classification' ? undefined : meaningFields(value, format, line);
  // No row: importing it without the field would train on what the field said not to.
  if (dropped) return { issues: [...dropped, ...normalizeLayout(format, value, line).issues] };
  return normalizeLayout(format, value, line);
}

/**
 * Fields that change what a row means (a verdict, a rating) and that a layout other than kto and
 * classification has no place for: they would be dropped, so each is an error instead (a chat row
 * with "label": false is not an answer to learn). Metadata such as ids or sources is dropped
 * silently, as before.
 */
const VERDICT_KEYS = ['label', 'labels', 'kto_tag', 'desirable', 'rating', 'reward'];

/** The meaning_field_dropped errors of a record; undefined (no allocation) when it has none, the common case. */
function meaningFields(value: Record<string, unknown>, format: SourceFormat, line: number): DatasetIssue[] | undefined {
  let found: DatasetIssue[] | undefined;
  for (const key of VERDICT_KEYS) {
    if (!(key in value)) continue;
    const fix =
      typeof value[key] === 'boolean'
        ? 'A true/false verdict on the answer is binary feedback (KTO): import the file with format "kto" (task binary_feedback) so the label is kept.'
        : `Remove '${key}' if it is only metadata, or import the data in a layout that uses it (format "kto" for true/false feedback, "classification" for {text, label}).`;
    (found ??= []).push(issue(line, 'error', 'meaning_field_dropped', key, `Field '${key}' (${JSON.stringify(value[key])?.slice(0, 40)}) has no place in ${format} rows and would be dropped, yet it changes what the row means.`, fix));
  }
  return found;
}

/**
 * A pair row: a `negative` on it (a file detected as pairs from a first row without one) would be
 * dropped, and with it the hard negative, so it is an error naming the triplet layout.
 */
function pairRow(value: Record<string, unknown>, line: number): Normalized {
  const pair = stringFields(value, line, ['anchor', 'positive'], 'pair');
  if (!('negative' in value)) return pair;
  const dropped = issue(line, 'error', 'meaning_field_dropped', 'negative', "Field 'negative' has no place in pair rows and would be dropped with its hard negative.", 'Give every row a negative and import the file with format "triplet", or remove the negatives to train on pairs.');
  return { issues: [dropped, ...pair.issues] };
}

function normalizeLayout(format: SourceFormat, value: Record<string, unknown>, line: number): Normalized {
  switch (format) {
    case 'chat':
      return normalizeChat(value, line);
    case 'sharegpt':
      return normalizeShareGpt(value, line);
    case 'instruction':
      return normalizeInstruction(value, line);
    case 'completion':
      return stringFields(value, line, ['prompt', 'completion'], format);
    case 'classification':
      return normalizeClassification(value, line);
    case 'triplet':
      return stringFields(value, line, ['anchor', 'positive', 'negative'], format);
    case 'pair':
      return pairRow(value, line);
    case 'scored_pair':
      return normalizeScoredPair(value, line);
    case 'text':
      return stringFields(value, line, ['text'], format);
    case 'preference':
      return normalizePreference(value, line);
    case 'openai_dpo':
      return normalizeOpenAiDpo(value, line);
    case 'sharegpt_preference':
      return normalizeShareGptPreference(value, line);
    case 'kto':
      return normalizeKto(value, line);
  }
}
