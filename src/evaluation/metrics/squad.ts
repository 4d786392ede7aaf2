/**
 * SQuAD v1.1 answer metrics, as the official evaluation script: normalise (lowercase, drop ASCII
 * punctuation, drop the articles a/an/the, collapse whitespace), exact match, token F1, and the
 * maximum over the reference answers. Per-example scores are 0/1 and 0–1; corpus means are
 * reported on SQuAD's 0–100 scale by the callers.
 */
import { countItems, overlapCount, pySplit } from './text.js';

const ASCII_PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');
/** Python's Unicode `\b(a|an|the)\b`: word characters are letters, numbers and '_'. */
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;

export function normalizeAnswer(text: string): string {
  let out = '';
  for (const ch of text.toLowerCase()) if (!ASCII_PUNCTUATION.has(ch)) out += ch;
  return pySplit(out.replace(ARTICLES, ' ')).join(' ');
}

export function exactMatch(prediction: string, reference: string): number {
  return normalizeAnswer(prediction) === normalizeAnswer(reference) ? 1 : 0;
}

export function tokenF1(prediction: string, reference: string): number {
  const predictionTokens = pySplit(normalizeAnswer(prediction));
  const referenceTokens = pySplit(normalizeAnswer(reference));
  const same = overlapCount(countItems(predictionTokens), countItems(referenceTokens));
  if (same === 0) return 0;
  const precision = same / predictionTokens.length;
  const recall = same / referenceTokens.length;
  return (2 * precision * recall) / (precision + recall);
}

/** The best score over the references (the script's `metric_max_over_ground_truths`); 0 without references. */
export function maxOverReferences(metric: (p: string, r: string) => number, prediction: string, references: readonly string[]): number {
  let best = 0;
  for (const reference of references) best = Math.max(best, metric(prediction, reference));
  return best;
}
