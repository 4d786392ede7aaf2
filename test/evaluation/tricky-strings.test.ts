import { describe, expect, it } from 'vitest';
import { Bleu, tokenize13a, tokenizeChar, tokenizeIntl, type BleuTokenizer } from '../../src/evaluation/metrics/bleu.js';
import { Chrf } from '../../src/evaluation/metrics/chrf.js';
import { RougeScorer, rougeTokenize } from '../../src/evaluation/metrics/rouge.js';
import { normalizeAnswer, tokenF1 } from '../../src/evaluation/metrics/squad.js';
import { expected } from './fixtures.js';

interface Tricky {
  text: string;
  other: string;
  tok_13a: string;
  tok_intl: string;
  tok_char: string;
  rouge_tokens: string[];
  rouge_tokens_stemmed: string[];
  squad_normalized: string;
  sentence_bleu: Record<BleuTokenizer, number>;
  sentence_bleu_lowercase: number;
  chrf: number;
  chrf_pp: number;
  chrf_lowercase_whitespace: number;
  rouge_stemmed_fmeasure: Record<string, number>;
  squad_f1: number;
}

/**
 * Unicode whitespace Python splits on and JS's \s does not (and the reverse), entities, astral
 * characters, symbols, case mapping: outputs of sacreBLEU 2.6.0's tokenizers and metrics,
 * rouge-score's tokenizer and the SQuAD normaliser on the same strings.
 */
describe.each(expected.tricky_strings as Tricky[])('tricky string %#', (c) => {
  it('tokenizers: 13a, intl, char, rouge-score (plain and stemmed), SQuAD normalisation', () => {
    expect(tokenize13a(c.text)).toBe(c.tok_13a);
    expect(tokenizeIntl(c.text)).toBe(c.tok_intl);
    expect(tokenizeChar(c.text)).toBe(c.tok_char);
    expect(rougeTokenize(c.text, false)).toEqual(c.rouge_tokens);
    expect(rougeTokenize(c.text, true)).toEqual(c.rouge_tokens_stemmed);
    expect(normalizeAnswer(c.text)).toBe(c.squad_normalized);
  });
  it('sentence BLEU per tokenizer, chrF, chrF++, ROUGE, token F1', () => {
    for (const tok of ['13a', 'intl', 'char', 'none'] as const) {
      expect(new Bleu({ tokenize: tok, effective_order: true }).sentenceScore(c.text, [c.other]).score).toBeCloseTo(c.sentence_bleu[tok], 10);
    }
    expect(new Bleu({ lowercase: true, effective_order: true }).sentenceScore(c.text, [c.other]).score).toBeCloseTo(c.sentence_bleu_lowercase, 10);
    expect(new Chrf().sentenceScore(c.text, [c.other])).toBeCloseTo(c.chrf, 10);
    expect(new Chrf({ word_order: 2 }).sentenceScore(c.text, [c.other])).toBeCloseTo(c.chrf_pp, 10);
    expect(new Chrf({ lowercase: true, whitespace: true }).sentenceScore(c.text, [c.other])).toBeCloseTo(c.chrf_lowercase_whitespace, 10);
    const rouge = new RougeScorer({ use_stemmer: true }).score(c.other, c.text);
    for (const type of ['rouge1', 'rouge2', 'rougeL']) expect(rouge[type].fmeasure).toBeCloseTo(c.rouge_stemmed_fmeasure[type], 12);
    expect(tokenF1(c.text, c.other)).toBeCloseTo(c.squad_f1, 12);
  });
});
