/**
 * Source layouts and their normalisation to canonical rows; each format family lives in formats/
 * (chat, sharegpt, instruction, preference, plain fields), sharing formats/shared.ts.
 */
import { issue } from './issues.js';
import { normalizeChat } from './formats/chat.js';
import { normalizeClassification, stringFields } from './formats/fields.js';
import { normalizeInstruction } from './formats/instruction.js';
import { normalizeOpenAiDpo, normalizePreference, normalizeShareGptPreference } from './formats/preference.js';
import { normalizeShareGpt } from './formats/sharegpt.js';
import { describe, FORMAT_FIX, isObject, type Normalized } from './formats/shared.js';
import type { SourceFormat } from './types.js';

export type { Normalized } from './formats/shared.js';

/** Guesses the source layout of one record from its keys; undefined when no layout fits. */
export function detectFormat(value: unknown): SourceFormat | undefined {
  if (!isObject(value)) return undefined;
  const has = (k: string) => k in value;
  if (has('messages')) return 'chat';
  if (has('conversations')) return has('chosen') && has('rejected') ? 'sharegpt_preference' : 'sharegpt';
  if (has('input') && has('preferred_output')) return 'openai_dpo';
  if (has('chosen') && has('rejected')) return 'preference';
  if (has('instruction') && has('output')) return 'instruction';
  if (has('prompt') && has('completion')) return 'completion';
  if (has('anchor') && has('positive') && has('negative')) return 'triplet';
  if (has('text') && has('label')) return 'classification';
  if (has('text')) return 'text';
  return undefined;
}

/** Normalises one record of a known layout; every problem is reported, none thrown. */
export function normalizeRecord(format: SourceFormat, value: unknown, line: number): Normalized {
  if (!isObject(value)) {
    return { issues: [issue(line, 'error', 'data_type', '', `Example is ${describe(value)}, not a JSON object.`, FORMAT_FIX[format])] };
  }
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
    case 'text':
      return stringFields(value, line, ['text'], format);
    case 'preference':
      return normalizePreference(value, line);
    case 'openai_dpo':
      return normalizeOpenAiDpo(value, line);
    case 'sharegpt_preference':
      return normalizeShareGptPreference(value, line);
  }
}
