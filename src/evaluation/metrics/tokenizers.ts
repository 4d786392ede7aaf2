/**
 * sacreBLEU's BLEU tokenizers: 13a (mteval-v13a, the default), intl (mteval-v14 international),
 * char and none. Each returns the tokens joined by single spaces, as sacreBLEU's do.
 */
import { pySplit } from './text.js';

export const BLEU_TOKENIZERS = ['13a', 'none', 'intl', 'char'] as const;
export type BleuTokenizer = (typeof BLEU_TOKENIZERS)[number];

const RE_13A_SYMBOLS = /([{-~[-` -&(-+:-@/])/g;
const RE_13A_PERIOD_COMMA_AFTER_NON_DIGIT = /([^0-9])([.,])/g;
const RE_13A_PERIOD_COMMA_BEFORE_NON_DIGIT = /([.,])([^0-9])/g;
const RE_13A_DASH_AFTER_DIGIT = /([0-9])(-)/g;

/** mteval-v13a tokenization as sacreBLEU's Tokenizer13a + TokenizerRegexp. */
export function tokenize13a(input: string): string {
  let line = input.replaceAll('<skipped>', '').replaceAll('-\n', '').replaceAll('\n', ' ');
  if (line.includes('&')) {
    line = line.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  }
  line = ` ${line} `
    .replace(RE_13A_SYMBOLS, ' $1 ')
    .replace(RE_13A_PERIOD_COMMA_AFTER_NON_DIGIT, '$1 $2 ')
    .replace(RE_13A_PERIOD_COMMA_BEFORE_NON_DIGIT, ' $1 $2')
    .replace(RE_13A_DASH_AFTER_DIGIT, '$1 $2 ');
  return pySplit(line).join(' ');
}

const RE_INTL_PUNCT_AFTER_NON_NUMBER = /(\P{N})(\p{P})/gu;
const RE_INTL_PUNCT_BEFORE_NON_NUMBER = /(\p{P})(\P{N})/gu;
const RE_INTL_SYMBOL = /(\p{S})/gu;

/** mteval-v14 international tokenization as sacreBLEU's TokenizerV14International. */
export function tokenizeIntl(line: string): string {
  const out = line
    .replace(RE_INTL_PUNCT_AFTER_NON_NUMBER, '$1 $2 ')
    .replace(RE_INTL_PUNCT_BEFORE_NON_NUMBER, ' $1 $2')
    .replace(RE_INTL_SYMBOL, ' $1 ');
  return pySplit(out).join(' ');
}

/** Every character (code point) a token. */
export function tokenizeChar(line: string): string {
  return Array.from(line).join(' ');
}

export const BLEU_TOKENIZER_FUNCTIONS: Record<BleuTokenizer, (line: string) => string> = {
  '13a': tokenize13a,
  none: (line) => line,
  intl: tokenizeIntl,
  char: tokenizeChar,
};
