/**
 * The labelled phone-number set (test/fixtures/pii-phones/labelled.jsonl) and its scoring, shared by
 * the precision/recall test and bench/pii.ts. In each text a phone number is marked `[[CC:number]]`
 * (CC its country); everything else, and every line with a `decoy` category, must stay.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redact, type PiiPattern } from '../../src/datasets/pii.js';

export const LABELLED_PHONES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'pii-phones', 'labelled.jsonl');

export interface LabelledPhone {
  country: string;
  format: 'international' | 'national';
  value: string;
  start: number;
  end: number;
}

export interface LabelledText {
  text: string;
  phones: LabelledPhone[];
  decoy?: string;
}

export function loadLabelled(path = LABELLED_PHONES): LabelledText[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((line) => {
      const { text: marked, decoy } = JSON.parse(line) as { text: string; decoy?: string };
      const phones: LabelledPhone[] = [];
      let text = '';
      let cursor = 0;
      for (const m of marked.matchAll(/\[\[([A-Z]{2}):(.+?)\]\]/g)) {
        text += marked.slice(cursor, m.index);
        const value = m[2];
        phones.push({ country: m[1], format: /^(\+|00)/.test(value) ? 'international' : 'national', value, start: text.length, end: text.length + value.length });
        text += value;
        cursor = m.index + m[0].length;
      }
      text += marked.slice(cursor);
      return { text, phones, decoy };
    });
}

export interface PhoneScore {
  positives: number;
  found: number;
  false_positives: Array<{ text: string; value: string }>;
  missed: LabelledPhone[];
  precision: number;
  recall: number;
  /** Recall by country and by format: [found, total]. */
  by_country: Record<string, [number, number]>;
  by_format: Record<string, [number, number]>;
}

/**
 * A labelled number counts as found when one phone finding covers it whole; every phone finding
 * that covers no labelled number is a false positive. Patterns run as clean_dataset runs them, so a
 * card or IBAN taken by its own kind first is not a phone.
 */
export function scorePhones(set: LabelledText[], patterns: PiiPattern[]): PhoneScore {
  const score: PhoneScore = { positives: 0, found: 0, false_positives: [], missed: [], precision: 0, recall: 0, by_country: {}, by_format: {} };
  for (const item of set) {
    const spans = redact(item.text, patterns).findings.filter((f) => f.kind === 'phone').map((f) => ({ start: f.start, end: f.start + f.length }));
    for (const phone of item.phones) {
      score.positives++;
      const hit = spans.some((s) => s.start <= phone.start && s.end >= phone.end);
      if (hit) score.found++;
      else score.missed.push(phone);
      for (const [table, key] of [[score.by_country, phone.country], [score.by_format, phone.format]] as const) {
        const entry = (table[key] ??= [0, 0]);
        entry[1]++;
        if (hit) entry[0]++;
      }
    }
    for (const s of spans) {
      if (!item.phones.some((p) => s.start < p.end && s.end > p.start)) score.false_positives.push({ text: item.text, value: item.text.slice(s.start, s.end) });
    }
  }
  score.recall = score.found / score.positives;
  score.precision = score.found / (score.found + score.false_positives.length);
  return score;
}
