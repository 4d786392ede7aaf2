import type { Judge } from '../../plugins/providers.js';

export interface PairOutcome {
  /** Candidate beat the baseline in both orders, lost in both, or anything else (a tie). */
  outcome: 'win' | 'loss' | 'tie';
  /** The verdict with the candidate shown first (as A), and with it shown second (as B). */
  candidate_first: 'a' | 'b' | 'tie';
  candidate_second: 'a' | 'b' | 'tie';
  /** Both orders named the same answer (or both said tie). */
  consistent: boolean;
}

/**
 * Judges a candidate against a baseline twice, with the answer order swapped, so a judge that
 * prefers a position cannot decide the result: a win needs the candidate preferred in both orders.
 */
export async function judgeBothOrders(judge: Judge, input: { question: string; candidate: string; baseline: string; criteria?: string[] }): Promise<PairOutcome> {
  const first = await judge.compare({ question: input.question, answer_a: input.candidate, answer_b: input.baseline, criteria: input.criteria });
  const second = await judge.compare({ question: input.question, answer_a: input.baseline, answer_b: input.candidate, criteria: input.criteria });
  const candidateWonFirst = first.winner === 'a';
  const candidateWonSecond = second.winner === 'b';
  const baselineWonFirst = first.winner === 'b';
  const baselineWonSecond = second.winner === 'a';
  const outcome = candidateWonFirst && candidateWonSecond ? 'win' : baselineWonFirst && baselineWonSecond ? 'loss' : 'tie';
  const consistent = (candidateWonFirst && candidateWonSecond) || (baselineWonFirst && baselineWonSecond) || (first.winner === 'tie' && second.winner === 'tie');
  return { outcome, candidate_first: first.winner, candidate_second: second.winner, consistent };
}

export interface WinRate {
  wins: number;
  losses: number;
  ties: number;
  /** (wins + ties / 2) / cases, in 0–1. */
  win_rate: number;
  /** Share of cases where both orders agreed: low values mean a position-biased or noisy judge. */
  consistency: number;
}

export function winRate(outcomes: PairOutcome[]): WinRate {
  const wins = outcomes.filter((o) => o.outcome === 'win').length;
  const losses = outcomes.filter((o) => o.outcome === 'loss').length;
  const ties = outcomes.length - wins - losses;
  const n = Math.max(outcomes.length, 1);
  return { wins, losses, ties, win_rate: (wins + ties / 2) / n, consistency: outcomes.filter((o) => o.consistent).length / n };
}
