/**
 * Perplexity from per-token log-probabilities: exp(total negative log-likelihood / number of
 * predicted tokens), pooled over every sequence (not a mean of per-sequence perplexities).
 */
import { FinetuneError } from '../../errors.js';

export interface PerplexityResult {
  perplexity: number;
  /** Mean negative log-likelihood per predicted token (nats). */
  mean_nll: number;
  total_nll: number;
  tokens: number;
}

/** `logprobs[i]` are the natural-log probabilities of the predicted tokens of sequence i. */
export function perplexity(logprobs: readonly (readonly number[])[]): PerplexityResult {
  let totalNll = 0;
  let tokens = 0;
  logprobs.forEach((sequence, row) => {
    sequence.forEach((lp, position) => {
      if (!Number.isFinite(lp) || lp > 0) {
        throw new FinetuneError('INVALID_INPUT', `Log-probability ${lp} of sequence ${row}, token ${position} is not a finite number ≤ 0.`, {
          details: { field: `logprobs[${row}][${position}]` },
          recovery: 'Pass natural-log probabilities of the predicted tokens (each ≤ 0).',
        });
      }
      totalNll -= lp;
      tokens++;
    });
  });
  if (tokens === 0) {
    throw new FinetuneError('INVALID_INPUT', 'Perplexity needs at least one predicted token; every sequence was empty.', {
      details: { field: 'logprobs' },
    });
  }
  const meanNll = totalNll / tokens;
  return { perplexity: Math.exp(meanNll), mean_nll: meanNll, total_nll: totalNll, tokens };
}
